"""mmooc.lib.compiled, on the relay's own queries: what their queryset gives, in one statement,
without building it again."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext

from mmooc import testing
from mmooc.groups.models import Membership, StudyGroup
from mmooc.lib.compiled import CompiledQuery
from mmooc.lists.models import Moderation
from mmooc.testing import add_member, make_group

pytestmark = pytest.mark.django_db

GROUP = CompiledQuery(
    lambda address: (StudyGroup.objects.alias(lower_address=Lower("address")).filter(lower_address=address)
                     .select_related("cohort__course").order_by()[:1]),
    "\0address")
MEMBERS = CompiledQuery(
    lambda group_id: Membership.objects.filter(group_id=group_id).order_by("learner__email")
    .values_list("learner__email", "learner__public_id", "muted"),
    -7_000_000_001)


@pytest.fixture
def groups():
    cohort = testing.make_cohort(slug="py-3")
    first, second = make_group(cohort, 1), make_group(cohort, 2)
    add_member(first, "alice@example.org")
    add_member(first, "bob@example.org", muted=True)
    add_member(second, "carol@example.org")
    return first, second


def test_rows_are_those_of_the_queryset_with_its_values_converted(groups):
    first, second = groups
    for group in (first, second, first):
        expected = list(MEMBERS.build(group.pk))
        with CaptureQueriesContext(connection) as queries:
            assert MEMBERS.rows(group.pk) == expected
        assert len(queries) == 1
    assert [type(v) for v in MEMBERS.rows(first.pk)[0]] == [type(v) for v in expected[0]]  # UUID, bool


def test_objects_come_with_their_select_related_objects_attached(groups):
    first, second = groups
    for group in (second, first):
        with CaptureQueriesContext(connection) as queries:
            [found] = GROUP.objects(group.address.lower())
            assert found == group and found.name == group.name
            assert found.cohort.course.organizer_email == group.cohort.course.organizer_email
        assert len(queries) == 1
    assert GROUP.objects("nobody@lists.course.example.org") == []


def test_objects_come_with_their_annotations(groups):
    first, _ = groups
    Moderation.objects.create(cohort=first.cohort, hold_first_post=True)
    counted = CompiledQuery(lambda address: (
        StudyGroup.objects.filter(address=address).annotate(
            holds=Exists(Moderation.objects.filter(cohort_id=OuterRef("cohort_id"), hold_first_post=True)),
            members=Count("memberships")).order_by()), "\0address")
    [found] = counted.objects(first.address)
    expected = StudyGroup.objects.annotate(members=Count("memberships")).get(pk=first.pk)
    assert (found.holds, found.members) == (True, expected.members) == (True, 2)


def test_a_placeholder_that_does_not_reach_the_parameters_is_refused(groups):
    changed = CompiledQuery(lambda address: StudyGroup.objects.filter(address__contains=address), "\0address")
    with pytest.raises(ValueError, match="placeholder"):
        changed.rows("x")
