"""Facilitators assigned to study groups: assign and unassign, audited (group page, `mmooc staff`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from mmooc.audit.log import record
from mmooc.courses.staffing import StaffingError
from mmooc.groups.models import Facilitation, StudyGroup
from mmooc.lib.staff import FACILITATOR, role

__all__ = ["StaffingError", "assign", "candidates", "facilitators", "unassign"]


def facilitators(group: StudyGroup) -> QuerySet[User]:
    return User.objects.filter(facilitations__group=group).order_by("username")


def candidates(group: StudyGroup) -> list[User]:
    """Active facilitators not yet assigned to the group, for the group page's choice."""
    users = (User.objects.filter(is_active=True, groups__name=FACILITATOR).exclude(facilitations__group=group)
             .prefetch_related("groups").order_by("username").distinct())
    return [u for u in users if role(u) == FACILITATOR]


def assign(user: User, group: StudyGroup, actor: Any) -> bool:
    """Make `user` (a facilitator) a facilitator of `group`. False if they already were."""
    if role(user) != FACILITATOR:
        raise StaffingError(f"{user.get_username()} is not a facilitator (organizers and superusers see "
                            "every group of their cohorts already).")
    with transaction.atomic():
        _, created = Facilitation.objects.get_or_create(user=user, group=group)
        if created:
            record(actor, "staff.facilitator_assigned", group,
                   f"{user.get_username()} facilitates {group.name} ({group.cohort.slug})",
                   user=user.get_username(), cohort=group.cohort.slug, group=group.number)
    return created


def unassign(user: User, group: StudyGroup, actor: Any) -> bool:
    """`user` no longer facilitates `group`. False if they did not."""
    with transaction.atomic():
        deleted, _ = Facilitation.objects.filter(user=user, group=group).delete()
        if deleted:
            record(actor, "staff.facilitator_unassigned", group,
                   f"{user.get_username()} no longer facilitates {group.name} ({group.cohort.slug})",
                   user=user.get_username(), cohort=group.cohort.slug, group=group.number)
    return bool(deleted)
