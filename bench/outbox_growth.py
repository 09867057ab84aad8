"""Outbox growth: nine weekly course emails to N learners, claim time from the first to the last.

    .venv/bin/python bench/outbox_growth.py [--db sqlite|postgres] [--n 20000] [--weeks 9]
                                            [--keep-days 21] [--claims 20]
    .venv/bin/python bench/outbox_growth.py --db postgres --n 1000000      # the full size

On a fresh database, each simulated week: one course email is queued to N learners
(`outbox.enqueue`), the delivery engine's claim of a batch of 500 is timed `--claims`
times (median), every copy is then marked sent as the engine would have that week, and
the retention job (`mailer.retention.prune`, with MMOOC_OUTBOX_KEEP_DAYS = `--keep-days`)
runs as it would at the end of that week. Prints, per week: the outbox's rows, the enqueue
time, the median claim time and its ratio to the first week's (the baseline, measured in
the same run), and what the retention job deleted and how long it took.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_NAME = "mmooc_bench_outbox"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument("--pg-name", default=PG_NAME, help="the PostgreSQL database to (re)create for the run")
    p.add_argument("--n", type=int, default=20_000, help="learners (copies per weekly email)")
    p.add_argument("--weeks", type=int, default=9)
    p.add_argument("--keep-days", type=int, default=21, help="MMOOC_OUTBOX_KEEP_DAYS for the run")
    p.add_argument("--claims", type=int, default=20, help="claims of 500 timed per week")
    return p.parse_args()


def configure(args: argparse.Namespace, data_dir: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "mmooc.settings", "MMOOC_DATA_DIR": data_dir,
                       "MMOOC_LOG_LEVEL": "WARNING", "MMOOC_OUTBOX_KEEP_DAYS": str(args.keep_days),
                       "SECRET_KEY": "bench-secret-key-" + "x" * 40})
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {args.pg_name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {args.pg_name}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.pg_name}"
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def week(args: argparse.Namespace, number: int, start) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from django.db import connection

    from mmooc.mailer import engine, outbox, retention
    from mmooc.mailer.models import Delivery, Message

    message = outbox.compose(kind=Message.SUBSCRIBED, subject=f"Week {number}", body="Hello {{ name }}",
                             scope="cohort:1", tag="course-email")
    recipients = (outbox.Recipient(f"learner{i}@example.org",
                                   {"name": f"Learner {i}", "unsubscribe_url": f"https://example.org/u/{i}"})
                  for i in range(args.n))
    t0 = time.perf_counter()
    outbox.enqueue(message, recipients)
    enqueue_s = time.perf_counter() - t0
    claims = []
    for _ in range(min(args.claims, max(1, args.n // 500))):
        t0 = time.perf_counter()
        jobs = engine.claim(500)
        claims.append(time.perf_counter() - t0)
        assert len(jobs) == 500 or args.n < 500 * args.claims
    sent_at = start + timedelta(days=7 * number)
    Delivery.objects.filter(message=message).update(status=Delivery.SENT, sent_at=sent_at, updated_at=sent_at,
                                                     not_before=sent_at, lease_until=None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE mailer_delivery")  # as autovacuum would between two weekly emails
    rows = Delivery.objects.count()
    t0 = time.perf_counter()
    deleted = retention.prune(now=sent_at + timedelta(days=6), budget=float("inf"))
    prune_s = time.perf_counter() - t0
    return {"rows": rows, "enqueue": enqueue_s, "claim": statistics.median(claims), "deleted": deleted,
            "prune": prune_s}


def main() -> None:
    args = parse_args()
    data_dir = tempfile.mkdtemp(prefix="mmooc-bench-outbox-")
    try:
        configure(args, data_dir)
        from django.utils import timezone

        start = timezone.now() - timedelta(days=7 * (args.weeks + 1))
        print(f"outbox growth bench: {args.db}, {args.n:,} copies a week, {args.weeks} weeks, "
              f"retention {args.keep_days} days (load average {os.getloadavg()[0]:.1f})")
        print("  week   rows before pruning   enqueue   claim of 500 (median)   vs week 1   pruned")
        first = None
        for number in range(1, args.weeks + 1):
            w = week(args, number, start)
            first = first or w["claim"]
            print(f"  {number:>4}   {w['rows']:>19,}   {w['enqueue']:>6.2f} s   {w['claim'] * 1000:>17.2f} ms"
                  f"   {w['claim'] / first:>8.2f}x   {w['deleted']:,} rows in {w['prune']:.2f} s"
                  + (f" ({w['deleted'] / w['prune']:,.0f} rows/s)" if w["deleted"] else ""))
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
