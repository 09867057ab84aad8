"""What the group staff pages show of each group's conversation, supplied by the app that relays it.

The groups app knows members, not posts: the lists app, above it, registers an `Activity`
in its `ready()`. Without one, groups show no posts and no archive link.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Protocol

from django.db.models import DateTimeField, IntegerField, QuerySet, Value

from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup


class Activity(Protocol):
    def annotate(self, groups: QuerySet[StudyGroup], recent_since: datetime) -> QuerySet[StudyGroup]:
        """Add posts_total, posts_recent (since `recent_since`) and last_post to each group."""

    def posts_per_week(self, groups: list[StudyGroup], weeks: list[date]) -> dict[tuple[int, date], int]:
        """Posts per (group pk, Monday of the week), for weeks from the first Monday given."""

    def archive_url(self, group: StudyGroup) -> str:
        """The group's archive page for staff."""


class _NoActivity:
    def annotate(self, groups: QuerySet[StudyGroup], recent_since: datetime) -> QuerySet[StudyGroup]:
        return groups.annotate(posts_total=Value(0, IntegerField()), posts_recent=Value(0, IntegerField()),
                               last_post=Value(None, DateTimeField()))

    def posts_per_week(self, groups: list[StudyGroup], weeks: list[date]) -> dict[tuple[int, date], int]:
        return {}

    def archive_url(self, group: StudyGroup) -> str:
        return ""


_provider: list[Activity] = [_NoActivity()]


def register(provider: Activity) -> None:
    _provider[0] = provider


def activity() -> Activity:
    return _provider[0]


# Pages about a cohort's groups that apps above add (label, cohort -> URL, and optionally
# (cohort, user) -> a count shown beside the label): linked from the list.
_pages: list[tuple[str, Callable[[Cohort], str], Callable[[Cohort, Any], int] | None]] = []


def register_page(label: str, url: Callable[[Cohort], str],
                  count: Callable[[Cohort, Any], int] | None = None) -> None:
    if label not in [known for known, _url, _count in _pages]:
        _pages.append((label, url, count))


def pages(cohort: Cohort, user: Any = None) -> list[tuple[str, str]]:
    """(label, URL) of each page registered with register_page; a counted page's label ends
    with its count for `user`, e.g. "Moderation queue (3)"."""
    return [(label if count is None else f"{label} ({count(cohort, user):,})", url(cohort))
            for label, url, count in _pages]
