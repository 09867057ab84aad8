"""Outbox retention: finished delivery rows older than MMOOC_OUTBOX_KEEP_DAYS are deleted.

    run()     the periodic job `mailer.retention` (hourly, one process at a time through
              operations leases): prune(), then tidy(); returns how many rows it deleted
    prune()   deletes the finished rows past the kept days; returns how many
    tidy()    on PostgreSQL, vacuums and analyzes the outbox once it holds many dead row
              versions; returns whether it did

A course sends one email a week to every learner: without pruning, the outbox grows by a
row per learner per week for ever. Rows that are finished (sent, failed, suppressed,
cancelled) and were last changed more than the kept days ago go, BATCH at a time, each
batch in one transaction that also adds the rows it deletes to their message's counts per
status (DeliveryCount): `outbox.progress()` and the pages built on it stay exact. What goes
with the rows: each copy's own detail (its address in the outbox pages, a learner's mail
history, deliveries.csv and the provider events' link to the copy) beyond the kept days.

Rows still to send or in flight are never touched, whatever their age. A run stops after
RUN_BUDGET seconds and leaves the rest to its next turn, so it never holds up the other
periodic jobs for long.

Why tidy() (PostgreSQL): every copy the engine sends leaves two dead versions of its row
(queued, then sending) and every row pruned one more, and each dead version keeps its
entries in the outbox's indexes until the table is vacuumed. The engine's claim walks the
(status, not_before) index from the oldest 'queued' entry: without a vacuum, it steps over
the dead 'queued' entries of every weekly email sent since the last one (at 200,000
learners a week, 118 times the pages by the seventh week, bench/outbox_growth.py). Autovacuum
waits for dead versions worth 20% of the table, which a 90-day outbox of weekly emails
reaches about once a week, and may be off. So the job vacuums the table itself once dead
versions exceed VACUUM_SHARE of the live rows: a plain VACUUM, which takes no lock the
engine's statements wait for (TRUNCATE false: no exclusive lock to shorten the file;
SKIP_LOCKED: none if autovacuum is at it already).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mmooc.mailer.models import Delivery, DeliveryCount, Event

JOB = "mailer.retention"
EVERY = 3600  # seconds between runs
BATCH = 5000  # rows per transaction
RUN_BUDGET = 60.0  # seconds one run may take before leaving the rest to its next turn
FINISHED = (Delivery.SENT, Delivery.FAILED, Delivery.SUPPRESSED, Delivery.CANCELLED)
VACUUM_SHARE = 0.1  # dead row versions, as a share of the live rows, past which tidy() vacuums
VACUUM_MIN = 10_000  # and never for fewer dead row versions than this
VACUUM_SQL = "VACUUM (ANALYZE, TRUNCATE false, SKIP_LOCKED) mailer_delivery"

log = logging.getLogger("mmooc.mailer")


def run(now: datetime | None = None) -> int:
    """The periodic job: prune, then vacuum if needed; returns how many rows were deleted."""
    deleted = prune(now)
    tidy()
    return deleted


def cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.OUTBOX_KEEP_DAYS)


def prune(now: datetime | None = None, *, batch: int = BATCH, budget: float = RUN_BUDGET) -> int:
    """Delete finished rows older than the kept days, batch by batch; returns how many."""
    before = cutoff(now)
    deadline = time.monotonic() + budget
    total = 0
    while True:
        deleted = prune_batch(before, batch)
        total += deleted
        if deleted < batch or time.monotonic() >= deadline:
            return total


def _select_sql(postgres: bool) -> str:
    # Served by the (status, not_before) index: a finished row became due before it was last
    # changed, so not_before < cutoff holds for (nearly) all the rows wanted, and bounds the scan.
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    marks = ", ".join(["%s"] * len(FINISHED))
    return (f"SELECT id FROM mailer_delivery WHERE status IN ({marks}) AND not_before < %s "
            f"AND updated_at < %s LIMIT %s{lock}")


def prune_batch(before: datetime, limit: int) -> int:
    """One transaction: up to `limit` rows deleted, their counts kept; returns how many."""
    adapt = connection.ops.adapt_datetimefield_value
    stamp = adapt(before)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_select_sql(connection.vendor == "postgresql"), [*FINISHED, stamp, stamp, limit])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return 0
        # Provider events keep what they say; only their link to the copy goes (as SET_NULL would).
        Event.objects.filter(delivery_id__in=ids).update(delivery=None)
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(f"DELETE FROM mailer_delivery WHERE id IN ({marks}) RETURNING message_id, status", ids)
        counts = Counter((message_id, status) for message_id, status in cursor.fetchall())
        _add_counts(cursor, counts)
    return len(ids)


def _add_counts(cursor, counts: Counter[tuple[int, str]]) -> None:  # type: ignore[no-untyped-def]
    table = connection.ops.quote_name(DeliveryCount._meta.db_table)
    rows = [(message_id, status, n) for (message_id, status), n in sorted(counts.items())]
    cursor.executemany(f"INSERT INTO {table} (message_id, status, count) VALUES (%s, %s, %s) "
                       f"ON CONFLICT (message_id, status) DO UPDATE SET count = {table}.count + excluded.count",
                       rows)


def needs_vacuum(dead: int, live: int) -> bool:
    return dead >= max(VACUUM_MIN, VACUUM_SHARE * live)


def dead_and_live() -> tuple[int, int]:
    """PostgreSQL's counts of the outbox's dead row versions and live rows (its statistics,
    this process's own changes included)."""
    with connection.cursor() as cursor:
        if connection.pg_version >= 150000:  # type: ignore[attr-defined]
            cursor.execute("SELECT pg_stat_force_next_flush()")  # this process's deletes, counted now
        cursor.execute("SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE relid = %s::regclass",
                       [Delivery._meta.db_table])
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def tidy() -> bool:
    """On PostgreSQL, VACUUM (ANALYZE) the outbox when its dead row versions exceed
    VACUUM_SHARE of its live rows (and VACUUM_MIN); returns whether it ran. Not on SQLite,
    whose deleted rows leave no entries behind, nor inside a transaction, where PostgreSQL
    cannot vacuum."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    dead, live = dead_and_live()
    if not needs_vacuum(dead, live):
        return False
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(VACUUM_SQL)
    log.info("outbox retention: vacuumed the outbox (%s dead row versions, %s live rows) in %.1f s",
             dead, live, time.monotonic() - started)
    return True
