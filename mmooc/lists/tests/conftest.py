"""Study groups made directly (the grouping algorithm is not what these tests are about)."""

from __future__ import annotations

import uuid

import pytest

from mmooc import testing
from mmooc.groups.models import Membership, StudyGroup


def make_group(cohort, number: int = 1, members: list[str] = (), **fields) -> StudyGroup:
    group = StudyGroup.objects.create(
        cohort=cohort, number=number, name=f"Group {number}", public_id=uuid.uuid4(),
        address=fields.pop("address", f"{cohort.slug}-group-{number}@lists.course.example.org"), **fields)
    for address in members:
        add_member(group, address)
    return group


def add_member(group: StudyGroup, address: str, *, name: str = "", **fields) -> Membership:
    learner = testing.make_learner(group.cohort, address, name=name or address.split("@")[0].title())
    return Membership.objects.create(group=group, learner=learner, **fields)


@pytest.fixture
def cohort(db):
    return testing.make_cohort(slug="py-3")


@pytest.fixture
def group(cohort):
    """Group 1 of py-3: Alice (who posts in most tests), Bob and Carol."""
    group = make_group(cohort, 1)
    add_member(group, "alice@example.org", name="Alice Smith")
    add_member(group, "bob@example.org", name="Bob Jones")
    add_member(group, "carol@example.org", name="Carol Diaz")
    return group
