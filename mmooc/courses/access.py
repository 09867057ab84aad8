"""Finding a course's objects for staff pages: the object, or 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from mmooc.courses.models import Cohort


def cohort_or_404(slug: str) -> Cohort:
    return get_object_or_404(Cohort.objects.select_related("course"), slug=slug)
