"""Delivery.message has no constraint in the database (mailer migration 0010): the outbox checks
each call's messages once, and on PostgreSQL holds them until its transaction ends, instead of
PostgreSQL checking every copy at commit."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import OutboxError, Recipient

UNSUB = {"unsubscribe_url": "https://course.example.org/u/abc"}


def course_mail(subject: str = "Week 1") -> Message:
    return outbox.compose(kind=Message.SUBSCRIBED, subject=subject, body="Hello {{ name }}",
                          list_id="py-3.announce.example.org")


def people(n: int, start: int = 0) -> list[Recipient]:
    return [Recipient(f"l{i}@example.org", {**UNSUB, "name": f"L{i}"}) for i in range(start, start + n)]


def deleted(message: Message) -> Message:
    """The message object after its row was deleted (by another process, say)."""
    Message.objects.filter(pk=message.pk).delete()
    return message


@pytest.mark.django_db
def test_copies_of_a_deleted_message_are_refused_and_nothing_is_written(monkeypatch):
    monkeypatch.setattr(outbox, "CHUNK", 4)
    for recipients in (people(1), people(3), people(10)):  # one chunk, and several
        with pytest.raises(OutboxError, match="no longer exists"):
            outbox.enqueue(deleted(course_mail()), recipients)
    assert not Delivery.objects.exists()  # and the caller's transaction (the test's) is still usable


@pytest.mark.django_db
def test_many_messages_are_refused_whole_when_one_was_deleted():
    a, b = course_mail("A"), course_mail("B")
    with pytest.raises(OutboxError, match="no longer exists"):
        outbox.enqueue_many([(a, people(2)), (deleted(b), people(2))])
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_one_copy_of_a_deleted_message_is_not_written():
    msg = course_mail()
    assert outbox.enqueue_one(deleted(msg), people(1)[0]) is False
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_deleting_a_message_still_deletes_its_copies():
    msg = course_mail()
    outbox.enqueue(msg, people(3))
    msg.delete()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_the_check_is_one_statement_per_call_whatever_the_number_of_copies(monkeypatch):
    monkeypatch.setattr(outbox, "CHUNK", 4)
    counts = []
    for n in (2, 20):
        with CaptureQueriesContext(connection) as captured:
            outbox.enqueue(course_mail(f"{n}"), people(n))
        counts.append(sum("FROM mailer_message WHERE id IN" in q["sql"] for q in captured.captured_queries))
    assert counts == [1, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_message_being_queued_cannot_be_deleted_until_the_copies_are_committed():
    import psycopg

    msg = course_mail()
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"],
                            host=settings["HOST"], port=settings["PORT"] or None, autocommit=True)
    try:
        with transaction.atomic():
            outbox.enqueue(msg, people(3))
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT id FROM mailer_message WHERE id = %s FOR UPDATE NOWAIT", [msg.pk])
        other.execute("SELECT id FROM mailer_message WHERE id = %s FOR UPDATE NOWAIT", [msg.pk])  # free again
    finally:
        other.close()
    assert msg.deliveries.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_keeps_no_constraint_to_check_row_by_row():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'mailer_delivery'::regclass "
                       "AND contype = 'f'")
        assert cursor.fetchone()[0] == 0
