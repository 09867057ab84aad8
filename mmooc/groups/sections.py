"""The groups app's side of the learners' pages: the learner page's group section, the group
filter of the staff learner list and the group on the staff learner page."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from mmooc.courses.models import Cohort
from mmooc.groups import access
from mmooc.groups.membership import nearer_group, offsets_label
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner
from mmooc.learners.sections import LastGroup


def group_section(learner: Learner, section: dict[str, Any]) -> None:
    """The learner page's group section: the group the learner is in now."""
    membership = Membership.objects.active().filter(learner=learner).select_related("group").first()
    if membership is not None:
        group = membership.group
        section.update(group=group, name=group.name, address=group.address, delivery=membership.delivery,
                       size=Membership.objects.active().filter(group=group).count())
        nearer = nearer_group(learner)
        if nearer is not None:
            section["nearer"] = {"number": nearer.number, "name": nearer.name, "offsets": offsets_label(nearer),
                                 "offsets_now": offsets_label(group)}


class StaffGroups:
    def choices(self, cohort: Cohort) -> list[tuple[int, str]]:
        return list(StudyGroup.objects.filter(cohort=cohort).order_by("number").values_list("number", "name"))

    def members(self, cohort: Cohort, number: int | None) -> QuerySet[Learner]:
        memberships = Membership.objects.active().filter(group__cohort=cohort)
        if number is not None:
            memberships = memberships.filter(group__number=number)
        return Learner.objects.filter(pk__in=memberships.values("learner_id"))

    def last_group(self, learner: Learner) -> LastGroup | None:
        membership = (Membership.objects.filter(learner=learner).select_related("group")
                      .order_by("-joined_at").first())
        return None if membership is None else LastGroup(membership.group.name, membership.left_at)

    def choices_for(self, user: Any, cohort: Cohort, limit: int | None = None) -> list[tuple[int, str]]:
        return list(access.groups_for(user, cohort).order_by("number").values_list("number", "name")[:limit])

    def learners_for(self, user: Any, cohort: Cohort) -> QuerySet[Learner]:
        return access.learners_for(user, cohort)
