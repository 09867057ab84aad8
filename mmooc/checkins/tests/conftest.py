"""A cohort in its third week (frozen at WEEK3_NOON) and a group of three."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from mmooc import testing
from mmooc.testing import add_member, make_group

START = date(2026, 11, 2)  # a Monday; seven weeks
WEEK3_NOON = datetime.fromisoformat("2026-11-18T12:00:00+00:00")


@pytest.fixture
def cohort(request, db):
    """py-3, started 2026-11-02 (`pytest.mark.cohort` changes it)."""
    return testing.cohort_for(request.node, slug="py-3", start=START)


@pytest.fixture
def week3(time_machine):
    time_machine.move_to(WEEK3_NOON, tick=False)
    return WEEK3_NOON


@pytest.fixture
def group(cohort, week3):
    """Group 1 of py-3: Alice (who checks in), Bob and Carol."""
    group = make_group(cohort, 1)
    add_member(group, "alice@example.org", name="Alice Smith")
    add_member(group, "bob@example.org", name="Bob Jones")
    add_member(group, "carol@example.org", name="Carol Diaz")
    return group
