"""Finding the objects a staff page is about: 404 when there is no such object.

Every staff member may read every cohort; what a facilitator may not do is decided by the
view decorators (`organizer_required`) and, in templates, by `can_send` / `can_export`.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from mmooc.courses.models import Course


def get_course(slug: str) -> Course:
    return get_object_or_404(Course, slug=slug)



