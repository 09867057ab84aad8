"""A grouping's welcomes on PostgreSQL, called outside a transaction (apply once committed, the
periodic job): each batch's members are read by the helper thread, on a connection of its own,
while the caller's connection writes the batch before; inside a caller's transaction they are
read on the caller's connection, which alone sees what that transaction wrote."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from mmooc.groups import welcome
from mmooc.groups.apply import apply_grouping
from mmooc.groups.models import StudyGroup
from mmooc.mailer.models import Message
from mmooc.testing import make_learner

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ZONES = ["Europe/Paris", "Asia/Tokyo", "America/Chicago"]


@pytest.fixture
def groups(cohort, monkeypatch):
    monkeypatch.setattr(welcome, "WELCOME_BATCH", 2)  # several batches: reads and writes overlap
    for i in range(22):
        make_learner(cohort, f"learner{i}@example.org", name=f"Learner{i} Example", timezone=ZONES[i % 3])
    apply_grouping(cohort, welcome_now=False)
    found = list(StudyGroup.objects.filter(cohort=cohort).order_by("number"))
    assert len(found) >= 5
    return found


def membership_reads(captured):
    return [q["sql"] for q in captured.captured_queries if "groups_membership" in q["sql"]]


def backends():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def assert_welcomed(groups):
    for group in groups:
        message = Message.objects.get(tag="group-welcome", list_id=group.list_id)
        members = list(group.memberships.active().order_by("learner_id").values_list("learner__email",
                                                                                      "learner__name"))
        assert sorted(message.deliveries.values_list("recipient", flat=True)) == sorted(e for e, _ in members)
        for _, name in members:
            assert f"- {name.split()[0]} (" in message.body
    assert StudyGroup.objects.filter(pk__in=[g.pk for g in groups], welcomed_at=None).count() == 0


def test_outside_a_transaction_the_members_are_read_off_the_writing_connection(cohort, groups):
    before = backends()
    with CaptureQueriesContext(connection) as captured:
        queued = welcome.send_welcomes(cohort, groups, by_learner=True)
    assert queued == 22
    assert membership_reads(captured) == []
    assert_welcomed(groups)
    assert backends() == before  # the helper's connection is closed when the welcomes are done


def test_inside_a_transaction_the_members_are_read_on_its_connection(cohort, groups):
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        queued = welcome.send_welcomes(cohort, groups)
    assert queued == 22
    assert len(membership_reads(captured)) == len(range(0, len(groups), 2))
    assert_welcomed(groups)


def test_a_failed_read_in_the_helper_stops_the_welcomes_and_keeps_what_was_written(cohort, groups, monkeypatch):
    real = welcome.members_of
    calls = []

    def failing(batch, by_learner=False):
        calls.append(batch)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(batch, by_learner)

    monkeypatch.setattr(welcome, "members_of", failing)
    before = backends()
    with pytest.raises(RuntimeError, match="went away"):
        welcome.send_welcomes(cohort, groups)
    assert_welcomed(groups[:4])  # the two batches read before it, each in its own transaction
    assert StudyGroup.objects.filter(pk__in=[g.pk for g in groups[4:]], welcomed_at=None).count() == len(groups) - 4
    assert backends() == before
    assert welcome.send_pending_welcomes(cohort) == 22 - sum(g.memberships.active().count() for g in groups[:4])
