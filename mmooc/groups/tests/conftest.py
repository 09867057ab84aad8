"""The groups app's usual cohort: py-3, groups of 4, starting Monday 1 March 2027."""

from __future__ import annotations

from datetime import date

import pytest

from mmooc import testing


@pytest.fixture
def cohort(request, db):
    """py-3 of a course with groups of 4, starting 1 March 2027 (`pytest.mark.cohort` changes it)."""
    return testing.cohort_for(request.node, slug="py-3", start=date(2027, 3, 1), course={"group_size": 4})


@pytest.fixture(autouse=True)
def any_group_size(request, settings):
    """Groups of any size: these tests work with groups of 4. The minimum group size has its
    own tests (`pytest.mark.min_group(n)` sets it)."""
    marker = request.node.get_closest_marker("min_group")
    settings.GROUP_MIN_SIZE = marker.args[0] if marker else 1
