"""Sections that apps above groups add to a group's staff page.

A provider, registered in the app's `ready()`, takes the group and returns a dict with the
`template` to include (given the dict as `panel`), or None to show nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmooc.groups.models import StudyGroup

Panel = Callable[[StudyGroup], "dict[str, Any] | None"]
_panels: list[Panel] = []


def register(provider: Panel) -> None:
    if provider not in _panels:
        _panels.append(provider)


def panels(group: StudyGroup) -> list[dict[str, Any]]:
    return [p for p in (provider(group) for provider in _panels) if p]
