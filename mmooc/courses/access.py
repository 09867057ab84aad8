"""Which courses and cohorts a staff member may see; finding them for staff pages: the object, or 404.

The role (`lib/staff.py`) says what kind of page a staff member may open; assignments say
which cohorts (docs/roles.md has the whole table):

- a superuser, and an organizer with no cohort assigned (`CohortOrganizer`), is site-wide:
  every cohort, and the site-wide pages (outbox, suppressions, webhooks, API tokens, audit
  log; `lib.staff.sitewide_required`) — the organizers of an installation made before assignments keep what they had;
- an organizer assigned to cohorts sees those cohorts only, with every organizer power there;
- a facilitator sees the cohorts of the study groups they facilitate (the groups app, above
  this one, answers which: `set_facilitated`), and within them only those groups
  (`groups.access`);
- anyone else sees none.

A cohort or course outside what the user may see is a 404, as if it did not exist. Staff URLs
name a cohort by its slug, in the keyword `cohort`, and a course by its slug, in `course`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from mmooc.courses.models import Cohort, CohortOrganizer, Course
from mmooc.lib.staff import FACILITATOR, ORGANIZER, is_sitewide, role

FacilitatedCohorts = Callable[[Any], "QuerySet[Cohort]"]


def _no_cohorts(user: Any) -> QuerySet[Cohort]:
    return Cohort.objects.none()


_facilitated: list[FacilitatedCohorts] = [_no_cohorts]


def set_facilitated(provider: FacilitatedCohorts) -> None:
    """Register who answers "the cohorts of the groups this facilitator facilitates"."""
    _facilitated[0] = provider


def limited(user: Any) -> bool:
    """Whether the user is assigned to some cohorts as an organizer (given to `lib.staff.set_limited`)."""
    return CohortOrganizer.objects.filter(user=user).exists()


def cohorts_for(user: Any) -> QuerySet[Cohort]:
    """The cohorts the user may see on staff pages."""
    kind = role(user)
    if kind == ORGANIZER:
        if is_sitewide(user):
            return Cohort.objects.all()
        return Cohort.objects.filter(pk__in=CohortOrganizer.objects.filter(user=user).values("cohort_id"))
    if kind == FACILITATOR:
        return Cohort.objects.filter(pk__in=_facilitated[0](user).values("pk"))
    return Cohort.objects.none()


def cohort_or_404(slug: str, user: Any) -> Cohort:
    """The cohort named `slug`, if `user` may see it; 404 otherwise (its existence is not told)."""
    return get_object_or_404(cohorts_for(user).select_related("course"), slug=slug)


def course_or_404(slug: str, user: Any) -> Course:
    """The course, for a site-wide organizer, or for anyone who may see one of its cohorts."""
    courses = Course.objects.all()
    if not is_sitewide(user):
        courses = courses.filter(pk__in=cohorts_for(user).values("course_id"))
    return get_object_or_404(courses, slug=slug)
