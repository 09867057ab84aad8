"""A long `enqueue` call is checked and written a chunk at a time: memory stays the same
for any number of recipients, and the call still behaves as one (case-insensitive
duplicates skipped across chunks, a bad recipient anywhere writes nothing)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from mmooc.mailer import outbox
from mmooc.mailer.models import Message
from mmooc.mailer.outbox import OutboxError, Recipient

pytestmark = pytest.mark.django_db(transaction=True)
UNSUB = {"unsubscribe_url": "https://course.example.org/u/abc"}


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(outbox, "CHUNK", 4)


def course_mail():
    return outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1", body="Hello {{ name }}",
                          list_id="py-3.announce.example.org")


def people(n, start=0):
    return [Recipient(f"l{i}@example.org", {**UNSUB, "name": f"L{i}"}) for i in range(start, start + n)]


def test_it_reads_the_recipients_a_chunk_at_a_time():
    msg = course_mail()
    pulled, seen_at_first_write = [], []

    def recipients():
        for r in people(20):
            pulled.append(r)
            yield r

    real = outbox._insert

    def insert(message, rows, copy_first=False):
        seen_at_first_write.append(len(pulled))
        return real(message, rows, copy_first)

    outbox._insert = insert
    try:
        assert outbox.enqueue(msg, recipients()) == 20
    finally:
        outbox._insert = real
    # The first chunk is written once the second is read: never the whole list at once.
    assert seen_at_first_write[0] <= 2 * outbox.CHUNK + 1
    assert len(seen_at_first_write) == 5 and msg.deliveries.count() == 20


def test_it_skips_an_address_repeated_in_another_case_in_a_later_chunk():
    msg = course_mail()
    recipients = [*people(4), Recipient("Ann@Example.org", UNSUB), *people(4, 10),
                  Recipient("ann@example.org", UNSUB), Recipient("L2@example.org", UNSUB),
                  Recipient("l3@example.org", UNSUB), *people(3, 20), Recipient("ANN@example.org", UNSUB)]
    assert outbox.enqueue(msg, recipients) == 12
    assert sorted(msg.deliveries.values_list("recipient", flat=True)) == sorted(
        [f"l{i}@example.org" for i in (0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22)] + ["Ann@Example.org"])


def test_a_bad_recipient_in_a_later_chunk_writes_nothing():
    msg = course_mail()
    with pytest.raises(OutboxError):
        outbox.enqueue(msg, [*people(9), Recipient("not an address", UNSUB)])
    assert msg.deliveries.count() == 0


def test_a_bad_recipient_in_a_later_chunk_leaves_the_callers_transaction_usable():
    msg = course_mail()
    with transaction.atomic():
        outbox.enqueue(msg, people(2, 100))
        with pytest.raises(OutboxError):
            outbox.enqueue(msg, [*people(9), Recipient("l5@example.org", {})])  # no unsubscribe URL
        outbox.enqueue(msg, people(1, 200))
    assert msg.deliveries.count() == 3


def test_a_short_call_on_a_new_message_opens_no_savepoint():
    with transaction.atomic():  # the relay's case: the message composed in the same transaction
        msg = course_mail()
        with CaptureQueriesContext(connection) as captured:
            outbox.enqueue(msg, people(outbox.CHUNK))
    assert not any("SAVEPOINT" in q["sql"] for q in captured.captured_queries)


def test_statements_grow_with_the_chunks_not_with_the_recipients():
    msg = course_mail()
    with CaptureQueriesContext(connection) as captured:
        outbox.enqueue(msg, people(40))
    # SQLite: one executemany per chunk; PostgreSQL: a COPY per chunk (not captured) and a few more.
    assert len(captured.captured_queries) <= 4 * (40 // outbox.CHUNK) + 6
    assert msg.deliveries.count() == 40


@pytest.mark.postgres
def test_later_calls_on_a_message_of_this_transaction_copy_without_a_staging_table():
    with transaction.atomic():
        msg = course_mail()
        with CaptureQueriesContext(connection) as captured:
            for start in range(0, 12, 3):  # a course email scheduled in batches of learners
                outbox.enqueue(msg, people(3, start))
            outbox.enqueue(msg, people(2, 10))  # repeats: the slower way, nothing written twice
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert sql.count("mailer_enqueue") == 3  # only the call with repeats: create, empty, insert from it
    assert msg.deliveries.count() == 12
