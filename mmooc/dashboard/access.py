"""Finding the objects a staff page is about: 404 when there is no such object.

Every staff member may read every cohort; what a facilitator may not do is decided by the
view decorators (`organizer_required`) and, in templates, by `can_send` / `can_export`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from mmooc.courses.models import Cohort, Course
from mmooc.emails.models import CourseEmail
from mmooc.groups.models import StudyGroup
from mmooc.lib.staff import is_organizer


def get_course(slug: str) -> Course:
    return get_object_or_404(Course, slug=slug)


def get_group(cohort: Cohort, number: int) -> StudyGroup:
    return get_object_or_404(StudyGroup, cohort=cohort, number=number)


def get_email(public_id: Any) -> CourseEmail:
    return get_object_or_404(CourseEmail.objects.select_related("cohort__course", "message"),
                             public_id=public_id)


def powers(request: HttpRequest) -> dict[str, bool]:
    """What the signed-in staff member may do, for templates to show or hide buttons."""
    organizer = is_organizer(request.user)
    return {"can_send": organizer, "can_export": organizer, "can_moderate": True,
            "is_organizer": organizer}
