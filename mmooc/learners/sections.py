"""What apps above learners add to the learners' pages: the study group, which groups knows.

The learner page shows the learner's study group (and its archive link, which the lists app
knows); the staff learner list filters by group and the staff learner page names the group.
Those apps register providers in their `AppConfig.ready()`: group sections are filled in by
each provider in the order the apps are installed; one `StaffGroups` answers the staff pages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from django.db.models import QuerySet

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.lib.staff import is_organizer

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


PageSection = Callable[[Learner], "dict[str, Any] | None"]
_page_sections: list[PageSection] = []


def add_page_section(provider: PageSection) -> None:
    """Register a provider of a section of the learner page: a dict with the `template` to
    include (given the dict as `section`), or None to show nothing."""
    if provider not in _page_sections:
        _page_sections.append(provider)


def page_sections(learner: Learner) -> list[dict[str, Any]]:
    return [s for s in (provider(learner) for provider in _page_sections) if s]


WeekEmails = Callable[[Cohort], dict[int, str]]
_week_emails: list[WeekEmails] = []


def add_week_emails(provider: WeekEmails) -> None:
    """Register a provider of the web addresses of the emails sent about each module."""
    if provider not in _week_emails:
        _week_emails.append(provider)


def week_emails(cohort: Cohort) -> dict[int, str]:
    """Module id → the address of the email sent about it, for the modules that have one."""
    found: dict[int, str] = {}
    for provider in _week_emails:
        found.update(provider(cohort))
    return found


class LastGroup(NamedTuple):
    name: str
    left_at: datetime | None  # None: still a member


class StaffGroups(Protocol):
    """The study groups as the staff learner pages show and filter them."""

    def choices(self, cohort: Cohort) -> list[tuple[int, str]]:
        """(number, name) of the cohort's groups, by number."""

    def members(self, cohort: Cohort, number: int | None) -> QuerySet[Learner]:
        """The learners in group `number` now; in any group of the cohort for None."""

    def last_group(self, learner: Learner) -> LastGroup | None:
        """The group the learner joined last, or None if they were never in one."""

    def choices_for(self, user: Any, cohort: Cohort, limit: int | None = None) -> list[tuple[int, str]]:
        """(number, name) of the cohort's groups the staff member sees, by number (the first `limit`)."""

    def learners_for(self, user: Any, cohort: Cohort) -> QuerySet[Learner]:
        """The cohort's learners the staff member sees (a facilitator: their groups' members)."""


class _NoGroups:
    def choices(self, cohort: Cohort) -> list[tuple[int, str]]:
        return []

    def members(self, cohort: Cohort, number: int | None) -> QuerySet[Learner]:
        return Learner.objects.none()

    def last_group(self, learner: Learner) -> LastGroup | None:
        return None

    def choices_for(self, user: Any, cohort: Cohort, limit: int | None = None) -> list[tuple[int, str]]:
        return []

    def learners_for(self, user: Any, cohort: Cohort) -> QuerySet[Learner]:
        return Learner.objects.filter(cohort=cohort) if is_organizer(user) else Learner.objects.none()


_staff_groups: list[StaffGroups] = [_NoGroups()]


def register_staff_groups(provider: StaffGroups) -> None:
    _staff_groups[0] = provider


def staff_groups() -> StaffGroups:
    return _staff_groups[0]
