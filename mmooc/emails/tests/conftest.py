"""The emails app's usual cohort and a clock stopped a week before it starts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from mmooc import testing

START = date(2027, 3, 8)  # a Monday
FROZEN = datetime(2027, 3, 1, 12, tzinfo=UTC)  # the Monday before, at noon UTC


@pytest.fixture
def frozen():
    """The clock stopped at FROZEN."""
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def cohort(request, db):
    """py-1, a course of two modules, starting on START in UTC (`pytest.mark.cohort` changes it)."""
    return testing.cohort_for(request.node, slug="py-1", start=START, course={"modules": 2})


@pytest.fixture
def far_apart(cohort):
    """Two confirmed learners of the cohort, 15½ hours apart: in Honolulu and in Kolkata."""
    return [testing.make_learner(cohort, timezone="Pacific/Honolulu"),
            testing.make_learner(cohort, timezone="Asia/Kolkata")]
