"""Limiting an organizer to cohorts, and lifting the limit: audited (`mmooc staff`, docs/roles.md)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from mmooc.audit.log import record
from mmooc.courses.models import Cohort, CohortOrganizer
from mmooc.lib.staff import ORGANIZER, role


class StaffingError(ValueError):
    """A refused assignment: the message says why; nothing was changed."""


def assign_organizer(user: User, cohort: Cohort, actor: Any) -> bool:
    """Limit `user` (an organizer) to `cohort`, besides the cohorts already assigned. False if
    they already had it. A first assignment ends their site-wide powers."""
    if user.is_superuser:
        raise StaffingError(f"{user.get_username()} is a superuser: superusers organize every cohort.")
    if role(user) != ORGANIZER:
        raise StaffingError(f"{user.get_username()} is not an organizer: add them to the organizer role first.")
    with transaction.atomic():
        _, created = CohortOrganizer.objects.get_or_create(user=user, cohort=cohort)
        if created:
            record(actor, "staff.organizer_assigned", cohort,
                   f"{user.get_username()} organizes {cohort.slug}", user=user.get_username(), cohort=cohort.slug)
    return created


def unassign_organizer(user: User, cohort: Cohort, actor: Any) -> bool:
    """Take `cohort` from an organizer's cohorts. False if it was not theirs. Taking the last one
    makes them site-wide again, which is said in the audit entry."""
    with transaction.atomic():
        deleted, _ = CohortOrganizer.objects.filter(user=user, cohort=cohort).delete()
        if deleted:
            left = CohortOrganizer.objects.filter(user=user).count()
            record(actor, "staff.organizer_unassigned", cohort,
                   f"{user.get_username()} no longer organizes {cohort.slug}"
                   + ("" if left else "; they are site-wide again"),
                   user=user.get_username(), cohort=cohort.slug, sitewide=not left)
    return bool(deleted)
