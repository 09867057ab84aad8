"""apply_grouping's shape at scale: statements that do not grow with the cohort, the
learners locked in the one read (PostgreSQL), groups written in one bulk insert."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from mmooc.groups import apply
from mmooc.groups.apply import apply_grouping
from mmooc.groups.models import Membership, StudyGroup
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db]


def fill(cohort, n):
    zones = ["Europe/Paris", "Asia/Tokyo", "America/Chicago"]
    return [make_learner(cohort, timezone=zones[i % 3]) for i in range(n)]


def statements(cohort, **kw):
    with CaptureQueriesContext(connection) as captured:
        apply_grouping(cohort, welcome_now=False, **kw)
    return [q["sql"] for q in captured.captured_queries]


def test_applying_takes_the_same_statements_for_any_number_of_learners(cohort, monkeypatch):
    monkeypatch.setattr(apply, "READ_CHUNK", 7)  # several fetches of the eligible learners
    fill(cohort, 12)
    small = statements(cohort)
    fill(cohort, 60)  # five times as many groups and memberships
    large = statements(cohort)
    assert len(large) == len(small)
    assert Membership.objects.count() == 72


def test_groups_are_written_in_one_insert_and_keep_their_ids(cohort):
    fill(cohort, 40)
    sql = statements(cohort)
    inserts = [s for s in sql if "groups_studygroup" in s.split("(")[0] and s.startswith(("INSERT", "COPY"))]
    assert len(inserts) <= 1  # COPY on PostgreSQL is not captured; on SQLite one executemany per 10,000 rows
    grouping = StudyGroup.objects.get(number=1).grouping
    assert sorted(g.pk for g in grouping.groups.all()) == sorted(
        Membership.objects.values_list("group_id", flat=True).distinct())
    assert StudyGroup.objects.count() == 10


def test_the_groups_it_signals_are_saved_ones(cohort, django_capture_on_commit_callbacks):
    from mmooc.groups.signals import groups_formed

    fill(cohort, 8)
    told = []

    def receiver(sender, groups, **kw):
        told.extend(groups)

    groups_formed.connect(receiver, dispatch_uid="test.told")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            apply_grouping(cohort, welcome_now=False)
    finally:
        groups_formed.disconnect(dispatch_uid="test.told")
    saved = {g.number: g.pk for g in StudyGroup.objects.all()}
    assert told and all(not g._state.adding and g.pk == saved[g.number] for g in told)
    assert [g.name for g in told] == [f"Group {n}" for n in sorted(saved)]


@pytest.mark.postgres
def test_it_locks_the_learners_it_groups_in_the_read_that_finds_them(cohort):
    fill(cohort, 6)
    sql = statements(cohort)
    reads = [s for s in sql if "FOR KEY SHARE" in s]
    assert len(reads) == 1 and '"learners_learner"' in reads[0]


def test_a_preview_locks_nothing(cohort):
    fill(cohort, 6)
    with CaptureQueriesContext(connection) as captured:
        apply.preview(cohort)
    assert not any("FOR KEY SHARE" in q["sql"] for q in captured.captured_queries)


def test_memberships_naming_no_learner_of_the_cohort_refuse_the_grouping(cohort, monkeypatch):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL: the learners are locked by the read instead (the test above)")
    fill(cohort, 6)
    real = apply._create_memberships

    def with_a_stranger(groups, proposed):
        real(groups, proposed)
        Membership.objects.filter(pk=Membership.objects.order_by("pk").first().pk).update(learner_id=10**9)

    monkeypatch.setattr(apply, "_create_memberships", with_a_stranger)
    with pytest.raises(IntegrityError):
        apply_grouping(cohort, welcome_now=False)
    assert not Membership.objects.exists() and not StudyGroup.objects.exists()


def test_the_membership_check_is_one_query_whatever_the_size(cohort):
    fill(cohort, 30)
    checks = [s for s in statements(cohort)
              if ("NOT (EXISTS" in s or "NOT EXISTS" in s) and not s.startswith("CREATE TEMPORARY TABLE IF NOT EXISTS")]
    # The eligible learners' read, and on SQLite the memberships' check.
    assert len(checks) == (1 if connection.vendor == "postgresql" else 2)


@pytest.mark.postgres
def test_once_there_are_groups_a_preview_finds_the_eligible_from_two_indexes(cohort):
    """After grouping, nearly every learner is a member: the few still eligible are found by
    their ids, read from the index of learners wanting a group and that of active members,
    not by reading each learner's row (seconds at a million)."""
    from mmooc import testing

    fill(cohort, 12)
    apply_grouping(cohort, welcome_now=False)
    late = fill(cohort, 3)
    with CaptureQueriesContext(connection) as captured:
        plan = apply.preview_plan(cohort, min_group=1)
    assert sorted(i for g in plan.groups for i in g.member_ids) == sorted(learner.pk for learner in late)
    [sql] = [q["sql"] for q in captured.captured_queries if "NOT EXISTS" in q["sql"].upper()]
    assert "Index Only Scan using learner_cohort_wanting_group" in testing.query_plan(sql)


@pytest.mark.postgres
def test_memberships_are_written_in_the_order_of_their_learners(cohort):
    """Grouped by zone, a group's members are scattered over the learners' ids: written group
    by group, each entry of the two indexes by learner went to a random place (PostgreSQL)."""
    fill(cohort, 30)
    apply_grouping(cohort, welcome_now=False)
    by_group = list(Membership.objects.order_by("group__number", "learner_id").values_list("learner_id", flat=True))
    assert by_group != sorted(by_group)  # the groups do scatter them
    written = list(Membership.objects.order_by("pk").values_list("learner_id", flat=True))
    assert written == sorted(written) and len(written) == 30


def test_a_second_grouping_in_the_same_transaction_writes_its_own_memberships(cohort):
    first = fill(cohort, 8)
    apply_grouping(cohort, welcome_now=False)
    second = fill(cohort, 8)
    apply_grouping(cohort, welcome_now=False)
    groups = dict(Membership.objects.values_list("learner_id", "group__grouping_id"))
    assert len({groups[learner.pk] for learner in first}) == 1
    assert len({groups[learner.pk] for learner in second}) == 1
    assert len(set(groups.values())) == 2 and len(groups) == 16
