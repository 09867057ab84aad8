"""Subjects as staff pages show them: as learners see them, with the personal parts marked.

A message's subject may hold `{{ name }}` placeholders that the mail engine fills in for
each copy. Staff pages, the audit log, the command line and exports show one line for all
the copies, so `shown()` fills in the values every copy shares (the course's: names under
`course`, `cohort` and `module`, e.g. `{{ course_title }}`) and writes each personal value
as a readable marker: `{{ learner.first_name }}` becomes `‹first name›`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mmooc.lib.mailrender import PLACEHOLDER

# Placeholders whose value is the same in every copy of one message: the course's values.
SHARED = re.compile(r"(course|cohort|module)[._]")
PERSONAL_PREFIX = "learner."


def marker(name: str) -> str:
    """A personal placeholder as a reader understands it: `learner.first_name` → `‹first name›`."""
    if name.startswith(PERSONAL_PREFIX):
        name = name[len(PERSONAL_PREFIX):]
    return "‹" + " ".join(name.replace("_", " ").replace(".", " ").split()) + "›"


def shared_values(context: Mapping[str, Any] | None) -> dict[str, str]:
    """The values of one copy's context that every copy of its message shares."""
    return {k: str(v) for k, v in (context or {}).items()
            if SHARED.match(k) and isinstance(v, (str, int, float))}


def shown(subject: str, values: Mapping[str, Any] | None = None) -> str:
    """The subject with the given values filled in and any other placeholder as a marker, on one line."""
    values = values or {}

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        value = values.get(name)
        return str(value) if value not in (None, "") else marker(name)

    return " ".join(PLACEHOLDER.sub(fill, subject).split())
