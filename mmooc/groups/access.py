"""Which study groups and learners a staff member sees: the one answer every staff page uses.

An organizer sees every group and learner of the cohorts they may see (`courses.access`); a
facilitator sees only the groups they facilitate (`Facilitation`) and those groups' current
members; anyone else sees nothing. Objects outside what the user sees are a 404, never a 403,
so that their existence is not told. docs/roles.md has the table of who sees what.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from mmooc.courses.access import cohorts_for
from mmooc.courses.models import Cohort
from mmooc.groups.models import Facilitation, Membership, StudyGroup
from mmooc.learners.models import Learner
from mmooc.lib.staff import FACILITATOR, ORGANIZER, role


def facilitated_cohorts(user: Any) -> QuerySet[Cohort]:
    """The cohorts of the groups the user facilitates (given to `courses.access.set_facilitated`)."""
    return Cohort.objects.filter(pk__in=Facilitation.objects.filter(user=user).values("group__cohort_id"))


def _sees_cohort(user: Any, cohort: Cohort) -> bool:
    return cohorts_for(user).filter(pk=cohort.pk).exists()


def visible_groups(user: Any) -> QuerySet[StudyGroup]:
    """Every study group the user may see and moderate, in any cohort."""
    kind = role(user)
    if kind == ORGANIZER:
        return StudyGroup.objects.filter(cohort__in=cohorts_for(user))
    if kind == FACILITATOR:
        return StudyGroup.objects.filter(pk__in=Facilitation.objects.filter(user=user).values("group_id"))
    return StudyGroup.objects.none()


def groups_for(user: Any, cohort: Cohort) -> QuerySet[StudyGroup]:
    """The cohort's study groups the user may see and moderate: all of them for an organizer
    of the cohort, the groups they facilitate for a facilitator, none for anyone else."""
    return visible_groups(user).filter(cohort=cohort)


def sees_whole_cohort(user: Any, cohort: Cohort) -> bool:
    """Whether every group and learner of the cohort is the user's to see (an organizer's)."""
    return role(user) == ORGANIZER and _sees_cohort(user, cohort)


def group_or_404(user: Any, cohort: Cohort, number: int) -> StudyGroup:
    return get_object_or_404(groups_for(user, cohort), number=number)


def learners_for(user: Any, cohort: Cohort) -> QuerySet[Learner]:
    """The cohort's learners the user may see: all for an organizer, the current members of
    their groups for a facilitator."""
    learners = Learner.objects.filter(cohort=cohort)
    if sees_whole_cohort(user, cohort):
        return learners
    if role(user) != FACILITATOR:
        return learners.none()
    members = Membership.objects.active().filter(group__in=groups_for(user, cohort))
    return learners.filter(pk__in=members.values("learner_id"))


def learner_visible(user: Any, learner: Learner) -> bool:
    return learners_for(user, learner.cohort).filter(pk=learner.pk).exists()


def facilitators_of(group: StudyGroup) -> list[Any]:
    """The active staff accounts assigned to facilitate `group` (Facilitation), for notes about it."""
    return [f.user for f in Facilitation.objects.filter(group=group, user__is_active=True).select_related("user")
            .order_by("user__username")]
