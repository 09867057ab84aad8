"""The outbox retention job: finished rows past the kept days go, their counts stay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from mmooc.lib import periodic
from mmooc.mailer import outbox, retention
from mmooc.mailer.models import Delivery, DeliveryCount, Event, Message

pytestmark = pytest.mark.django_db

OLD = timedelta(days=91)


def message_with(rows: dict[str, int], age: timedelta, message: Message | None = None) -> Message:
    """A message with `rows[status]` copies in each status, last changed `age` ago."""
    message = message or outbox.compose(kind=Message.TRANSACTIONAL, subject="Week 1", body="Hi")
    when = timezone.now() - age
    start = message.deliveries.count()
    Delivery.objects.bulk_create([
        Delivery(message=message, recipient=f"r{start + i}-{status}@example.org", status=status, not_before=when,
                 updated_at=when, rfc_message_id=f"<{message.pk}.{start + i}.{status}@example.org>")
        for status, n in rows.items() for i in range(n)])
    return message


def test_finished_rows_past_the_kept_days_are_deleted():
    msg = message_with({"sent": 3, "failed": 1, "suppressed": 1, "cancelled": 1}, OLD)
    assert retention.prune() == 6
    assert not msg.deliveries.exists()


def test_rows_within_the_kept_days_stay():
    msg = message_with({"sent": 2}, timedelta(days=89))
    assert retention.prune() == 0
    assert msg.deliveries.count() == 2


def test_rows_not_finished_stay_whatever_their_age():
    msg = message_with({"queued": 1, "deferred": 1, "sending": 1}, timedelta(days=400))
    assert retention.prune() == 0
    assert msg.deliveries.count() == 3


def test_the_kept_days_come_from_the_setting(settings):
    settings.OUTBOX_KEEP_DAYS = 7
    msg = message_with({"sent": 2}, timedelta(days=8))
    message_with({"sent": 1}, timedelta(days=6), message=msg)
    assert retention.prune() == 2
    assert msg.deliveries.count() == 1


def test_progress_counts_the_deleted_rows():
    msg = message_with({"sent": 5, "failed": 2}, OLD)
    message_with({"sent": 1, "queued": 3}, timedelta(days=1), message=msg)
    before = outbox.progress(msg)
    retention.prune()
    assert msg.deliveries.count() == 4
    assert outbox.progress(msg) == before
    assert before["sent"] == 6 and before["failed"] == 2 and before["queued"] == 3


def test_batches_add_up_across_runs():
    msg = message_with({"sent": 7, "failed": 3}, OLD)
    assert retention.prune(batch=4) == 10  # three batches
    message_with({"sent": 2}, OLD, message=msg)
    assert retention.prune(batch=4) == 2
    assert dict(DeliveryCount.objects.filter(message=msg).values_list("status", "count")) == {"sent": 9, "failed": 3}


def test_a_run_stops_after_its_budget_and_leaves_the_rest():
    message_with({"sent": 5}, OLD)
    assert retention.prune(batch=2, budget=0) == 2
    assert Delivery.objects.count() == 3


def test_provider_events_stay_without_their_copy():
    msg = message_with({"sent": 1}, OLD)
    event = Event.objects.create(provider="mailgun", event_type="opened", delivery=msg.deliveries.get(),
                                 recipient="r0-sent@example.org")
    retention.prune()
    event.refresh_from_db()
    assert event.delivery is None
    assert event.recipient == "r0-sent@example.org"


def test_deleting_a_message_deletes_its_counts():
    msg = message_with({"sent": 1}, OLD)
    retention.prune()
    msg.delete()
    assert not DeliveryCount.objects.exists()


def test_the_job_is_registered_with_the_periodic_loop():
    job = next(j for j in periodic.jobs() if j.name == retention.JOB)
    assert job.func is retention.run
    assert job.every == retention.EVERY


def test_the_outbox_is_vacuumed_past_a_share_of_dead_rows():
    assert not retention.needs_vacuum(dead=9_999, live=0)  # never for a handful
    assert retention.needs_vacuum(dead=10_000, live=100_000)
    assert not retention.needs_vacuum(dead=99_999, live=1_000_000)
    assert retention.needs_vacuum(dead=100_000, live=1_000_000)


def test_the_job_prunes_then_tidies(monkeypatch):
    calls = []
    monkeypatch.setattr(retention, "prune", lambda now=None: calls.append("prune") or 3)
    monkeypatch.setattr(retention, "tidy", lambda: calls.append("tidy") or True)
    assert retention.run() == 3
    assert calls == ["prune", "tidy"]


def test_sqlite_is_never_vacuumed():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite case")
    assert retention.tidy() is False


def _claim_scan_pages() -> int:
    """Pages read by the scan the engine's claim makes on a large outbox (its plan from
    bench/outbox_growth.py: the (status, not_before) index, from the oldest due entry, for 500
    rows), as EXPLAIN (ANALYZE, BUFFERS) counts them. The index forced: on this test's few
    thousand rows the planner would rather read the whole table."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM mailer_delivery "
                       "WHERE status IN ('queued', 'deferred') AND not_before <= %s LIMIT 500",
                       [timezone.now()])
        raw = cursor.fetchone()[0]
    scan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]["Plans"][0]
    assert (scan["Node Type"], scan["Index Name"], scan["Actual Rows"]) == ("Index Scan", "delivery_due", 500)
    return int(scan["Shared Hit Blocks"] + scan["Shared Read Blocks"])


def _queue(message: Message, n: int, when) -> None:  # type: ignore[no-untyped-def]
    Delivery.objects.bulk_create([
        Delivery(message=message, recipient=f"r{i}@example.org", not_before=when, updated_at=when,
                 rfc_message_id=f"<{message.pk}.{i}@example.org>") for i in range(n)], batch_size=2000)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_after_a_sent_email_the_claim_reads_no_more_pages_than_before():
    """Last week's email, sent, leaves a dead 'queued' version of each of its rows, ahead of
    this week's in the claim's index: the job vacuums them away, so the claim does not step
    over them (without it: 14 pages before, 230 after, then 23 once the scan has marked them)."""
    last_week = outbox.compose(kind=Message.TRANSACTIONAL, subject="Week 1", body="Hi")
    this_week = outbox.compose(kind=Message.TRANSACTIONAL, subject="Week 2", body="Hi")
    _queue(this_week, 500, timezone.now() - timedelta(minutes=1))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE mailer_delivery")
    before = _claim_scan_pages()
    _queue(last_week, 12_000, timezone.now() - timedelta(days=7))
    last_week.deliveries.update(status=Delivery.SENDING)
    last_week.deliveries.update(status=Delivery.SENT, sent_at=timezone.now())
    assert retention.dead_and_live()[0] >= 12_000

    assert retention.run() == 0
    assert retention.dead_and_live()[0] < 1000
    assert _claim_scan_pages() <= before + 2
