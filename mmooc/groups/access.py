"""Which of a cohort's groups a staff member looks after, and who looks after a group.

    groups_for(user, cohort) -> QuerySet[StudyGroup]   the groups a staff page shows them
    facilitators_of(group) -> list[User]                the staff members assigned to a group

Every page that selects a cohort's groups for a staff member asks `groups_for`. Today every
staff member sees all of a cohort's groups and no group has facilitators of its own, so the
people told about a group are its cohort's organizers.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup


def groups_for(user: Any, cohort: Cohort) -> QuerySet[StudyGroup]:
    """The cohort's groups `user` may see and moderate."""
    return StudyGroup.objects.filter(cohort=cohort)


def facilitators_of(group: StudyGroup) -> list[User]:
    """The staff members who facilitate `group`; [] when none is assigned."""
    return []
