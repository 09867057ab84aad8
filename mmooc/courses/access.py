"""Finding a course's objects for staff pages: the object, or 404.

Every staff member may read every course and cohort; what a facilitator may not do is
decided by the view decorators (`organizer_required`) and, in templates, by `can_send` /
`can_export`. Staff URLs name a cohort by its slug, in the keyword `cohort`, and a course
by its slug, in `course`.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from mmooc.courses.models import Cohort, Course


def cohort_or_404(slug: str) -> Cohort:
    return get_object_or_404(Cohort.objects.select_related("course"), slug=slug)


def course_or_404(slug: str) -> Course:
    return get_object_or_404(Course, slug=slug)
