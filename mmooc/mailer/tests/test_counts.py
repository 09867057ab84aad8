"""A message's copies per status, kept by the periodic job mailer.counts instead of counted at every look."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mmooc import testing
from mmooc.lib import periodic
from mmooc.mailer import counts, outbox, retention
from mmooc.mailer.models import Delivery, Message, MessageCounts

pytestmark = pytest.mark.django_db

OLD = timedelta(days=91)


@pytest.fixture(autouse=True)
def kept_counts(settings):
    settings.MAIL_COUNTS_SECONDS = 120


def message_with(rows: dict[str, int], message: Message | None = None, age: timedelta = timedelta(0)) -> Message:
    message = message or outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1", body="Hi")
    when = timezone.now() - age
    start = message.deliveries.count()
    Delivery.objects.bulk_create([
        Delivery(message=message, recipient=f"r{start + i}-{status}@example.org", status=status, not_before=when,
                 updated_at=when, sent_at=when if status == Delivery.SENT else None,
                 rfc_message_id=f"<{message.pk}.{start + i}.{status}@example.org>")
        for status, n in rows.items() for i in range(n)])
    return message


def finish(message: Message) -> None:
    message.deliveries.filter(status=Delivery.QUEUED).update(status=Delivery.SENT, sent_at=timezone.now())


def test_the_counts_are_exact_when_first_read():
    msg = message_with({"queued": 3, "sent": 2})
    found = counts.tallies([msg.pk])[msg.pk]
    assert (found.get("queued"), found.sent, found.waiting) == (3, 2, 3)
    assert MessageCounts.objects.get(message=msg).open


def test_pages_read_the_kept_counts_until_they_are_old():
    msg = message_with({"queued": 3})
    counts.tallies([msg.pk])
    finish(msg)
    assert counts.tallies([msg.pk])[msg.pk].waiting == 3  # as counted, with its time
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        assert counts.tallies([msg.pk])[msg.pk].sent == 3


def test_a_read_of_kept_counts_does_not_count_the_outbox():
    msg = message_with({"queued": 3})
    counts.tallies([msg.pk])
    with CaptureQueriesContext(connection) as ctx:
        counts.tallies([msg.pk])
    assert len(ctx.captured_queries) == 1
    assert "mailer_delivery" not in ctx.captured_queries[0]["sql"].replace("mailer_deliverycount", "")


def test_the_job_counts_again_the_messages_still_going_out():
    msg = message_with({"queued": 3})
    counts.tallies([msg.pk])
    finish(msg)
    assert counts.run() == 1
    kept = MessageCounts.objects.get(message=msg)
    assert (kept.sent, kept.queued, kept.open) == (3, 0, False)


def test_the_job_leaves_finished_messages_alone():
    msg = message_with({"sent": 3})
    counts.tallies([msg.pk])
    counts.run()  # its first turn counts every kept message
    assert counts.run() == 0


def test_a_finished_message_given_a_copy_later_is_counted_again():
    msg = message_with({"sent": 3})
    counts.tallies([msg.pk])
    counts.run()
    message_with({"sent": 1}, message=msg)  # a late joiner's copy, already sent by the next turn
    assert counts.run() == 1
    assert counts.tallies([msg.pk])[msg.pk].sent == 4


def test_the_counts_include_the_rows_retention_deleted():
    msg = message_with({"sent": 2}, age=OLD)
    message_with({"queued": 1}, message=msg)
    retention.prune()
    assert counts.tallies([msg.pk])[msg.pk].statuses == {"sent": 2, "queued": 1}


def test_counts_kept_before_a_pruning_stay_right_after_it():
    msg = message_with({"sent": 2}, age=OLD)
    counts.tallies([msg.pk])
    retention.prune()
    counts.run()
    assert counts.count([msg.pk])[msg.pk].statuses == counts.tallies([msg.pk])[msg.pk].statuses == {"sent": 2}


def test_with_no_seconds_every_look_counts_and_nothing_is_kept(settings):
    settings.MAIL_COUNTS_SECONDS = 0
    msg = message_with({"queued": 1})
    assert counts.tallies([msg.pk])[msg.pk].waiting == 1
    assert not MessageCounts.objects.exists()


def test_next_and_last_sent_come_from_their_statuses():
    msg = message_with({"sent": 1, "failed": 1, "queued": 1})
    found = counts.count([msg.pk])[msg.pk]
    copy = msg.deliveries.get(status="queued")
    assert found.next_at == copy.not_before
    assert found.last_sent_at == msg.deliveries.get(status="sent").sent_at


def test_the_job_is_registered():
    assert counts.JOB in {job.name for job in periodic.jobs()}


def test_counting_reads_the_progress_index():
    msg = message_with({"queued": 2, "sent": 1})
    with CaptureQueriesContext(connection) as ctx:
        counts.count([msg.pk])
    assert len(ctx.captured_queries) == 1
    assert "delivery_progress" in testing.query_plan(ctx.captured_queries[0]["sql"])


@pytest.mark.postgres
def test_counting_reads_the_progress_index_on_postgresql():
    test_counting_reads_the_progress_index()


def test_a_page_counting_a_new_message_does_not_hide_a_late_copy_from_the_job():
    """The job's mark is its own: a page counting another message meanwhile does not move it."""
    msg = message_with({"sent": 3})
    counts.tallies([msg.pk])
    counts.run()
    message_with({"sent": 1}, message=msg)  # a late copy of a finished message
    other = message_with({"sent": 1})
    counts.tallies([other.pk])  # a page counts a new message, past the late copy
    counts.run()
    assert counts.tallies([msg.pk])[msg.pk].sent == 4


def test_the_job_finds_new_rows_by_the_key_not_a_scan_of_the_outbox():
    msg = message_with({"sent": 1})
    counts.tallies([msg.pk])
    counts.run()
    with CaptureQueriesContext(connection) as ctx:
        counts.to_recount(0)
    plans = " ".join(testing.query_plan(q["sql"]) for q in ctx.captured_queries if "mailer_delivery\"" in q["sql"])
    assert "delivery_progress" not in plans and "delivery_due" not in plans
    assert "PRIMARY KEY" in plans or "pkey" in plans


def test_a_querysets_kept_counts_are_added_up_per_field_in_the_database():
    messages = [message_with({"sent": 1, "queued": 1}) for _ in range(3)]
    Message.objects.filter(pk__in=[m.pk for m in messages[:2]]).update(scope="cohort:7")
    Message.objects.filter(pk=messages[2].pk).update(scope="cohort:8")
    first = counts.totals_by(Message.objects.all(), "scope")
    assert {scope: (c.sent, c.waiting) for scope, c in first.items()} == {"cohort:7": (2, 2), "cohort:8": (1, 1)}
    with CaptureQueriesContext(connection) as ctx:
        again = counts.totals_by(Message.objects.all(), "scope")
    assert {scope: c.statuses for scope, c in again.items()} == {scope: c.statuses for scope, c in first.items()}
    # The messages not counted yet, those to count again (none), and the kept counts summed.
    assert len(ctx.captured_queries) == 3
    assert "SUM(" in ctx.captured_queries[-1]["sql"].upper()
