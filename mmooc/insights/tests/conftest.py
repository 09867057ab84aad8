"""The insights app's usual cohort: groups of 6, in its fifth week (every quiet rule applies)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc import testing


@pytest.fixture
def cohort(request, db):
    """py-5 of a course with groups of 6, started four weeks ago (`pytest.mark.cohort` changes it)."""
    start = (timezone.now() - timedelta(weeks=4)).date()
    return testing.cohort_for(request.node, slug="py-5", start=start, course={"group_size": 6})


@pytest.fixture(autouse=True)
def any_group_size(settings):
    settings.GROUP_MIN_SIZE = 1
