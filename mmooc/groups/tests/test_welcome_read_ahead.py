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
from mmooc.mailer.models import Delivery, Message
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


def written(groups) -> list[tuple]:
    """Each group's welcome as written: the message's fields and its copies' rows, without ids and times."""
    found = []
    for group in groups:
        message = Message.objects.get(tag="group-welcome", list_id=group.list_id)
        found.append((message.subject, message.body, message.kind, message.scope, message.reply_to, message.list_name,
                      message.footer, message.headers, message.from_email, message.ref_values,
                      sorted(message.deliveries.values_list("recipient", "context", "ref", "status", "attempts",
                                                            "rfc_message_id"))))
    return found


def test_read_ahead_the_welcomes_are_written_as_inside_a_transaction(cohort, groups):
    welcome.send_welcomes(cohort, groups, by_learner=True)
    ahead = written(groups)
    Message.objects.filter(tag="group-welcome").delete()
    StudyGroup.objects.filter(pk__in=[g.pk for g in groups]).update(welcomed_at=None)
    with transaction.atomic():
        welcome.send_welcomes(cohort, groups, by_learner=True)
    here = written(groups)
    # The page and unsubscribe links are signed when made: compare the rest of each copy's values.
    def unsigned(found):
        return [(*w[:-1], [(r[0], {k: v for k, v in r[1].items() if not k.endswith("_url")}, *r[2:]) for r in w[-1]])
                for w in found]

    assert unsigned(ahead) == unsigned(here)
    assert all(w[-1] for w in ahead)
    assert all("learner.page_url" in r[1] and "unsubscribe_url" in r[1] for w in ahead for r in w[-1])


def test_a_name_with_tabs_newlines_and_backslashes_is_written_as_it_was_given(cohort, monkeypatch):
    monkeypatch.setattr(welcome, "WELCOME_BATCH", 2)
    name = "Zo\\ë\"s\tBack\\slash\nNew"  # the first name, up to the tab, has a backslash and a quote
    for i in range(6):
        make_learner(cohort, f"odd{i}@example.org", name=name if i == 0 else f"Odd{i} Learner", timezone=ZONES[0])
    apply_grouping(cohort, welcome_now=False)
    groups = list(StudyGroup.objects.filter(cohort=cohort))
    assert welcome.send_welcomes(cohort, groups, by_learner=True) == 6
    copy = Delivery.objects.get(message__tag="group-welcome", recipient="odd0@example.org")
    assert copy.context["greeting"] == " " + name.split()[0]  # the values the welcome shows
    assert copy.full_context()["learner.page_url"].startswith("http")
    names = Delivery.objects.filter(message__tag="group-welcome").values_list("context", flat=True)
    assert sorted(c["greeting"] for c in names) == sorted([" Zo\\ë\"s", *(f" Odd{i}" for i in range(1, 6))])


def test_a_group_welcomed_meanwhile_is_skipped(cohort, groups, monkeypatch):
    real = welcome._prepare
    taken = groups[3]

    def welcomed_meanwhile(*args, **kwargs):  # another process welcomes a group while this one prepares it
        made = real(*args, **kwargs)
        if any(w.group.pk == taken.pk for w in made):
            StudyGroup.objects.filter(pk=taken.pk).update(welcomed_at="2026-01-01T00:00:00Z")
        return made

    monkeypatch.setattr(welcome, "_prepare", welcomed_meanwhile)
    queued = welcome.send_welcomes(cohort, groups, by_learner=True)
    assert queued == 22 - taken.memberships.active().count()
    assert not Message.objects.filter(tag="group-welcome", list_id=taken.list_id).exists()
    assert_welcomed([g for g in groups if g.pk != taken.pk])


def test_a_message_refused_writes_nothing_of_its_batch(cohort, groups, monkeypatch):
    from mmooc.mailer.outbox import OutboxError

    real = welcome._welcome_message

    def refused(course, group, people):
        fields = real(course, group, people)
        return fields | {"subject": "x" * 1000} if group.pk == groups[2].pk else fields

    monkeypatch.setattr(welcome, "_welcome_message", refused)
    with pytest.raises(OutboxError, match="subject"):
        welcome.send_welcomes(cohort, groups, by_learner=True)
    assert_welcomed(groups[:2])  # the batch before it
    assert StudyGroup.objects.filter(pk__in=[g.pk for g in groups[2:]], welcomed_at=None).count() == len(groups) - 2
    assert not Message.objects.filter(tag="group-welcome", list_id__in=[g.list_id for g in groups[2:]]).exists()
