"""Sections of the learner's page that apps above learners fill in.

The learner page shows the learner's study group, which the groups app knows (and its
archive link, which the lists app knows). Those apps register providers in their
`AppConfig.ready()`; each adds its part to the section in the order the apps are installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmooc.learners.models import Learner

GroupSection = Callable[[Learner, dict[str, Any]], None]
_group_section: list[GroupSection] = []


def add_group_section(provider: GroupSection) -> None:
    """Register a provider: it adds keys to the section of a learner (or leaves it empty)."""
    if provider not in _group_section:
        _group_section.append(provider)


def group_section(learner: Learner) -> dict[str, Any] | None:
    """The learner's group for their page (name, address, size, archive_url), or None."""
    section: dict[str, Any] = {}
    for provider in _group_section:
        provider(learner, section)
    return section or None
