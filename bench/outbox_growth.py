"""Outbox growth: nine weekly course emails to N learners, claim time from the first to the last.

    .venv/bin/python bench/outbox_growth.py [--db sqlite|postgres] [--pg-name NAME] [--n 20000]
                                            [--weeks 9] [--keep-days 21] [--claims 20]
                                            [--no-tidy] [--explain]
    .venv/bin/python bench/outbox_growth.py --db postgres --n 1000000      # the full size

On a fresh database, each simulated week: one course email is queued to N learners
(`outbox.enqueue`), the delivery engine's claim of a batch of 500 is timed `--claims`
times, every copy is then marked sent as the engine would have that week, and the
retention job runs as it would at the end of that week (`mailer.retention.prune`, with
MMOOC_OUTBOX_KEEP_DAYS = `--keep-days`, then `tidy`, which vacuums the outbox on
PostgreSQL; `--no-tidy`: the job without it, as before, with an ANALYZE in its place).

Prints, per week: the outbox's rows, the enqueue time, the median (and fastest) claim time
and its ratio to the first week's (the baseline, measured in the same run), then what does
not depend on the machine's load: one more claim's work, measured by the database (on
PostgreSQL the pages, i.e. shared buffers hit or read, that EXPLAIN (ANALYZE, BUFFERS)
counts, both to find its 500 rows in the outbox and in all, with the join to the messages
and the writes; on SQLite its virtual
machine's steps), and its ratio to the first week's; the load average; what the job
deleted and how long it and the vacuum took; and the dead row versions left (PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

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
    p.add_argument("--no-tidy", action="store_true", help="the retention job without its vacuum (as before)")
    p.add_argument("--explain", action="store_true", help="print the claim's plan in the first and last weeks")
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
    if args.db == "postgres":
        from django.db import connection

        with connection.cursor() as cursor:  # statistics from the start, as an outbox in use has them
            cursor.execute("ANALYZE")


def _buffers(node: dict[str, Any]) -> int:
    return int(node["Shared Hit Blocks"] + node["Shared Read Blocks"])


def _outbox_reads(node: dict[str, Any], below_lock: bool = False) -> int:
    """Pages the claim reads from the outbox (its index and table) to find its rows: the scans
    of mailer_delivery below its LockRows node; not the join to the messages, whose cost does
    not depend on the outbox, nor the writes."""
    below_lock = below_lock or node["Node Type"] == "LockRows"
    if below_lock and node.get("Relation Name") == "mailer_delivery":
        return _buffers(node)
    return sum(_outbox_reads(child, below_lock) for child in node.get("Plans", []))


def claim_work(explain: bool = False) -> tuple[int, int, str]:
    """One more claim of 500 (committed like any other), measured in work rather than time:
    on PostgreSQL, the pages EXPLAIN (ANALYZE, BUFFERS) counts to find its rows in the outbox
    and in all;
    on SQLite, its virtual machine's steps (twice). Neither depends on the machine's load.
    With `explain`, also the plan as text."""
    from django.db import connection
    from django.utils import timezone

    from mmooc.mailer import engine

    if connection.vendor == "postgresql":
        now = timezone.now()
        params = [now + engine.LEASE, now, now, 500]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + engine._claim_sql(True, False), params)
            raw = cursor.fetchone()[0]
            top = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            text = ""
            if explain:
                now = timezone.now()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + engine._claim_sql(True, False),
                               [now + engine.LEASE, now, now, 500])
                text = "\n".join("      " + r[0] for r in cursor.fetchall())
        return _outbox_reads(top), _buffers(top), text
    connection.ensure_connection()
    raw_conn = connection.connection
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    raw_conn.set_progress_handler(count, 100)
    try:
        engine.claim(500)
    finally:
        raw_conn.set_progress_handler(None, 100)
    text = ""
    if explain:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + engine._claim_sql(False, False), ["x", "x", "x", 500])
            text = "\n".join("      " + str(r[-1]) for r in cursor.fetchall())
    return steps[0] * 100, steps[0] * 100, text


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
    for _ in range(min(args.claims, max(1, args.n // 500 - 2))):
        t0 = time.perf_counter()
        jobs = engine.claim(500)
        claims.append(time.perf_counter() - t0)
        assert len(jobs) == 500
    find, work, plan = claim_work(explain=args.explain and number in (1, args.weeks))
    if plan:
        print(f"  the claim's plan in week {number}:\n{plan}")
    sent_at = start + timedelta(days=7 * number)
    Delivery.objects.filter(message=message).update(status=Delivery.SENT, sent_at=sent_at, updated_at=sent_at,
                                                     not_before=sent_at, lease_until=None)
    if args.no_tidy and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE mailer_delivery")  # as autovacuum would between two weekly emails
    rows = Delivery.objects.count()
    t0 = time.perf_counter()
    deleted = retention.prune(now=sent_at + timedelta(days=6), budget=float("inf"))
    prune_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    vacuumed = False if args.no_tidy else retention.tidy()
    tidy_s = time.perf_counter() - t0
    return {"rows": rows, "enqueue": enqueue_s, "claim": statistics.median(claims), "fastest": min(claims),
            "find": find, "work": work, "deleted": deleted, "prune": prune_s,
            "vacuum": tidy_s if vacuumed else -1.0, "dead": dead_rows()}


def dead_rows() -> int:
    """PostgreSQL's count of the outbox's dead row versions (not yet vacuumed); 0 on SQLite."""
    from django.db import connection

    from mmooc.mailer import retention

    return retention.dead_and_live()[0] if connection.vendor == "postgresql" else 0


def main() -> None:
    args = parse_args()
    data_dir = tempfile.mkdtemp(prefix="mmooc-bench-outbox-")
    try:
        configure(args, data_dir)
        from django.utils import timezone

        start = timezone.now() - timedelta(days=7 * (args.weeks + 1))
        print(f"outbox growth bench: {args.db}, {args.n:,} copies a week, {args.weeks} weeks, "
              f"retention {args.keep_days} days{', job without its vacuum' if args.no_tidy else ''} "
              f"(load average {os.getloadavg()[0]:.1f})")
        postgres = args.db == "postgres"
        work = "pages to find 500 / in all" if postgres else "VM steps a claim"
        print(f"  week        rows   enqueue   claim of 500: median (fastest)   vs week 1   {work}   vs week 1"
              "   load   pruned by the job" + ("   vacuum   dead rows left" if postgres else ""))
        first: dict[str, float] = {}
        for number in range(1, args.weeks + 1):
            w = week(args, number, start)
            first = first or w
            done = (f"{w['work']:>7,}" if not postgres else f"{w['find']:>10,} / {w['work']:>7,}")
            line = (f"  {number:>4}   {w['rows']:>9,}   {w['enqueue']:>5.1f} s   {w['claim'] * 1000:>14.1f} ms"
                    f" ({w['fastest'] * 1000:>5.1f} ms)   {w['claim'] / first['claim']:>8.2f}x"
                    f"   {done:>{len(work)}}   {w['find'] / first['find']:>8.2f}x"
                    f"   {os.getloadavg()[0]:>4.1f}   {w['deleted']:>9,} in {w['prune']:>5.1f} s")
            if postgres:
                line += (f"   {w['vacuum']:>4.1f} s" if w["vacuum"] >= 0 else "       -") + f"   {w['dead']:>14,}"
            print(line, flush=True)
        print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
