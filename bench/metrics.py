#!/usr/bin/env python3
"""What one scrape of /metrics and one /healthz cost with 1,000,000 deliveries in the outbox.

    .venv/bin/python bench/metrics.py                          # SQLite, then PostgreSQL
    .venv/bin/python bench/metrics.py --db postgres --n 1000000
    .venv/bin/python bench/metrics.py --db sqlite --n 200000

For each database: a throw-away database, N deliveries over N/10,000 messages as a course
of some age has them (98% sent, the rest failed, suppressed, queued and due, deferred to
later, sending, and copies of a paused message due long ago), 10,000 counter additions,
and two engine heartbeats. Then, each measured RUNS times (median and worst, in ms): the
whole /metrics body, the engine part of /healthz, and as the baseline in the same run the
query a plain approach would make, one COUNT(*) … GROUP BY status over the outbox. On
PostgreSQL it also prints the plans of the queue-depth and oldest-due queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
RUNS = 30


def configure(db: str, pg_name: str) -> None:
    tmp = tempfile.mkdtemp(prefix="mmooc-bench-metrics-")
    os.environ.update({"DJANGO_SETTINGS_MODULE": "mmooc.settings", "MMOOC_DATA_DIR": tmp,
                       "SECRET_KEY": "bench-secret-key-" + "x" * 40, "MMOOC_LOG_LEVEL": "WARNING"})
    if db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {pg_name}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_name}"
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(n: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from mmooc.lib import bulk
    from mmooc.mailer.models import Delivery, EngineHeartbeat, Message
    from mmooc.operations import counters

    now = timezone.now()
    per = 10_000
    messages = Message.objects.bulk_create([
        Message(kind=Message.SUBSCRIBED, subject=f"Week {i}", body="Hello", from_email="c@example.org",
                state=Message.PAUSED if i == 0 else Message.ACTIVE,
                created_at=now - timedelta(days=n // per - i))
        for i in range(max(1, n // per))])

    def status(i: int) -> tuple[str, object]:
        k = i % 1000
        if k < 980:
            return Delivery.SENT, now - timedelta(days=1)
        if k < 985:
            return Delivery.FAILED, now - timedelta(days=1)
        if k < 990:
            return Delivery.SUPPRESSED, now - timedelta(days=1)
        if k < 995:
            return Delivery.QUEUED, now - timedelta(seconds=k)
        if k < 998:
            return Delivery.DEFERRED, now + timedelta(minutes=k)
        return Delivery.SENDING, now

    def rows():
        for i in range(n):
            message = messages[i // per % len(messages)]
            state, when = status(i)
            if message.state == Message.PAUSED:
                state, when = Delivery.QUEUED, now - timedelta(days=30)  # long due, held by the pause
            yield (message.pk, f"r{i}@example.org", {}, "", state, when, 1, f"<{uuid.uuid4().hex}@x>", "", "", now)

    fields = ["message", "recipient", "context", "ref", "status", "not_before", "attempts", "rfc_message_id",
              "provider_id", "last_error", "updated_at"]
    started = time.perf_counter()
    bulk.insert(Delivery, fields, rows())
    for _ in range(10_000):
        counters.add("deliveries", label="sent")
    EngineHeartbeat.objects.create(owner="bench:1:a", beat_at=now)
    EngineHeartbeat.objects.create(owner="bench:2:b", beat_at=now - timedelta(seconds=5))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  filled {n:,} deliveries in {time.perf_counter() - started:.0f} s")


def timed(fn) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def baseline() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT status, COUNT(*) FROM mailer_delivery GROUP BY status")
        cursor.fetchall()


def plans() -> None:
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from mmooc.mailer import health
    from mmooc.mailer.models import Delivery, Message

    depth = Delivery.objects.filter(status__in=health.UNFINISHED).values_list("status").annotate(
        n=Count("id")).order_by()
    oldest = (Delivery.objects.filter(status=Delivery.QUEUED, not_before__lte=timezone.now(),
                                      message__state=Message.ACTIVE).order_by("not_before").values("not_before")[:1])
    for name, qs in (("queue depth", depth), ("oldest due (queued)", oldest)):
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            print(f"  plan, {name}:")
            for (line,) in cursor.fetchall():
                print("    " + line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default=None)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--pg-name", default="mmooc_bench_metrics")
    args = ap.parse_args()
    if args.db is None:
        import subprocess

        for db in ("sqlite", "postgres"):
            subprocess.run([sys.executable, __file__, "--db", db, "--n", str(args.n)], check=True)
        return
    print(f"== {args.db}, {args.n:,} deliveries")
    configure(args.db, args.pg_name)
    fill(args.n)
    from mmooc.mailer import health
    from mmooc.operations.metrics import exposition

    base = timed(baseline)
    scrape = timed(exposition)
    healthz = timed(health.state)
    print(f"  baseline COUNT(*) GROUP BY status: median {base[0]:8.2f} ms, worst {base[1]:8.2f} ms")
    print(f"  /metrics body:                     median {scrape[0]:8.2f} ms, worst {scrape[1]:8.2f} ms"
          f"  ({scrape[0] / base[0]:.3f} of the baseline)")
    print(f"  /healthz engine state:             median {healthz[0]:8.2f} ms, worst {healthz[1]:8.2f} ms"
          f"  ({healthz[0] / base[0]:.3f} of the baseline)")
    state = health.state()
    print(f"  oldest due: {state['oldest_due_age_seconds']} s; queue: {health.queue_depth()}")
    from django.db import connection

    if connection.vendor == "postgresql":
        plans()


if __name__ == "__main__":
    main()
