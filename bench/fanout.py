#!/usr/bin/env python3
"""Fan-out benchmark: one personalized ~10 KB message to N learners, drained to Postfix's smtp-sink.

    .venv/bin/python bench/fanout.py --db sqlite --workers 1 --n 100000
    .venv/bin/python bench/fanout.py --db postgres --workers 4 --n 100000

Prints the enqueue time, the engine's messages per second, each worker's peak memory,
and the sink's own ceiling measured in the same run with Postfix's smtp-source over the
same number of connections, as a ratio. Needs smtp-sink and smtp-source (see bench/README.md).
Uses a throw-away database: a SQLite file in a temporary folder, or a PostgreSQL database
named mmooc_bench (dropped and created again) on --pg-url.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MMOOC = str(Path(sys.executable).with_name("mmooc"))
PARAGRAPH = (
    "This week we read chapter {n} of the book and try the exercises at the end of it. "
    "Meet your group, {{ name }}, and share what surprised you; then post one question you still have. "
    "Your schedule and the links for the week are on [your page]({{ page_url }}).\n\n"
)


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/lib/postfix/sbin")
    if not path:
        sys.exit(f"fanout: {name} not found; install it with /work/shared/tools/smtp-sink-ceiling "
                 "(or apt-get install postfix) — see bench/README.md")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body_markdown(size: int) -> str:
    parts, n = ["# Week 1, {{ name }}\n\n"], 1
    while sum(len(p) for p in parts) < size * 0.32:  # the HTML part makes up the rest
        parts.append(PARAGRAPH.replace("{n}", str(n)))
        n += 1
    return "".join(parts)


def database_url(args: argparse.Namespace, tmp: Path, name: str = "") -> str:
    """A fresh database: a SQLite file in `tmp`, or PostgreSQL's `name` (default --pg-db) dropped
    and created again."""
    if args.db == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}"
    import psycopg

    name = name or args.pg_db
    with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{args.pg_url}/{name}"


def enqueue(n: int, size: int) -> tuple[float, int]:
    """Compose and queue the message in this process; returns seconds and the copy size."""
    import django

    django.setup()
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message
    from mmooc.mailer.render import prepare

    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1 of the course, {{ name }}",
                         body=body_markdown(size), list_id="bench.announce.lists.example.org",
                         footer="The Team, 1 Example Street, Example City", tag="course-email")
    start = time.perf_counter()
    added = outbox.enqueue(msg, (outbox.Recipient(
        f"learner{i}@example.org",
        {"name": f"Learner {i}", "page_url": f"https://course.example.org/me/{i:08d}-token",
         "unsubscribe_url": f"https://course.example.org/unsubscribe/{i:08d}-token"})
        for i in range(n)))
    elapsed = time.perf_counter() - start
    assert added == n, (added, n)
    d = msg.deliveries.first()
    copy = prepare(msg).personalize(d.pk, d.recipient, d.context, d.rfc_message_id)
    ENQUEUED.append(msg.pk)
    return elapsed, len(copy)


ENQUEUED: list[int] = []  # the message enqueue() wrote, for the floor


def floor(message_id: int) -> float:
    """The baseline, in the same run: INSERT … SELECT of the message's rows into a table of the
    same columns without index or constraint (what writing the rows costs the database alone)."""
    from django.db import connection, transaction

    columns = "message_id, recipient, context, ref, status, not_before, rfc_message_id, updated_at"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_floor AS SELECT {columns} FROM mailer_delivery WHERE 1 = 0")
        start = time.perf_counter()
        cursor.execute(f"INSERT INTO bench_floor SELECT {columns} FROM mailer_delivery WHERE message_id = %s",
                       [message_id])
        seconds = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_floor")
    return seconds


def course_email(n: int) -> tuple[float, int]:
    """The course-email path: a weekly email (with the group block) scheduled to a cohort of n
    confirmed learners, as the staff page schedules it (`scheduling.schedule`: the audience
    read, each learner's values and send time, `outbox.enqueue`). Seconds and copies queued."""
    import uuid
    from datetime import date, timedelta
    from datetime import time as clock_time

    from django.db import connection, transaction
    from django.utils import timezone

    from mmooc.courses.models import Cohort, Course, Module
    from mmooc.emails import scheduling
    from mmooc.emails.models import CourseEmail
    from mmooc.learners.models import Learner
    from mmooc.lib import bulk

    course = Course.objects.create(slug="bench", title="Bench course", group_size=40, organizer_name="Bench",
                                   organizer_email="team@course.example.org", postal_line="1 Example Street")
    module = Module.objects.create(course=course, position=1, title="Week 1: getting started")
    now = timezone.now()
    cohort = Cohort.objects.create(course=course, slug="bench-1", title="Bench", signup_opens=now - timedelta(days=9),
                                   signup_closes=now + timedelta(days=9), start_date=date.today() + timedelta(days=30),
                                   end_date=date.today() + timedelta(days=90), state=Cohort.PUBLISHED)
    zones = ["America/New_York", "Europe/Paris", "Asia/Kolkata", "America/Sao_Paulo", "Asia/Tokyo", "Africa/Lagos"]
    fields = ("cohort", "email", "email_key", "name", "timezone", "country", "language", "wants_group", "answers",
              "state", "source", "signed_up_at", "confirmed_at", "public_id")
    with transaction.atomic():
        bulk.insert(Learner, fields, (
            (cohort.pk, f"c{i}@bench.example.org", f"c{i}@bench.example.org", f"Learner {i}", zones[i % len(zones)],
             "", "en", True, {}, Learner.CONFIRMED, Learner.SIGNUP_FORM, now, now, uuid.uuid4()) for i in range(n)))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # as autovacuum keeps a database in use: its plans are production's
            cursor.execute("ANALYZE learners_learner")
    email = CourseEmail.objects.create(
        cohort=cohort, module=module, subject="{{ module.title }}, {{ learner.first_name }}",
        body=body_markdown(4000).replace("{{ name }}", "{{ learner.first_name }}").replace(
            "{{ page_url }}", "{{ learner.page_url }}"),
        schedule=CourseEmail.LOCAL, day_offset=0, local_time=clock_time(9))
    start = time.perf_counter()
    count = scheduling.schedule(email, None)
    return time.perf_counter() - start, count


def due_course_email(n: int) -> tuple[float, int]:
    """`course_email(n)`, its copies then made due now (it is scheduled weeks ahead): seconds
    taken to schedule it, and the size of one copy as it goes out."""
    import django

    django.setup()
    from django.utils import timezone

    from mmooc.mailer.models import Delivery
    from mmooc.mailer.render import prepare

    seconds, copies = course_email(n)
    assert copies == n, (copies, n)
    Delivery.objects.update(not_before=timezone.now())
    d = Delivery.objects.select_related("message").first()
    # Copies written before links were made when sent keep them in their context.
    context = d.full_context() if hasattr(d, "full_context") else d.context
    return seconds, len(prepare(d.message).personalize(d.pk, d.recipient, context, d.rfc_message_id))


def peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sink_ceiling(port: int, sessions: int, count: int, size: int) -> float:
    start = time.perf_counter()
    subprocess.run([tool("smtp-source"), "-d", "-s", str(sessions), "-l", str(size), "-m", str(count),
                    "-f", "bench@example.org", "-t", "sink@example.org", f"127.0.0.1:{port}"], check=True)
    return count / (time.perf_counter() - start)


def peak_rss_kb(pid: int) -> int:
    """The process's own peak resident memory (VmHWM); 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    if "VmHWM:" not in status:  # exited, not yet reaped
        return 0
    return int(status.split("VmHWM:")[1].split()[0])


def run_workers(env: dict[str, str], workers: int, batch: int) -> tuple[float, list[int]]:
    """Start the workers with --once and wait for all; seconds taken and each one's peak RSS (KB).

    The peak is read from /proc while each worker runs: getrusage() would report the
    parent's peak for a forked child, which here holds the whole enqueue.
    """
    start = time.perf_counter()
    procs = [subprocess.Popen([MMOOC, "worker", "--once", "--batch", str(batch), "--verbosity", "0"],
                              env=env, cwd=ROOT) for _ in range(workers)]
    peaks = [0] * workers
    while any(p.poll() is None for p in procs):
        for i, p in enumerate(procs):
            peaks[i] = max(peaks[i], peak_rss_kb(p.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if any(p.returncode for p in procs):
        sys.exit(f"fanout: a worker exited with {[p.returncode for p in procs]}")
    return elapsed, peaks


def count_sent() -> int:
    from mmooc.mailer.models import Delivery

    return Delivery.objects.filter(status=Delivery.SENT).count()


def enqueue_only(args: argparse.Namespace) -> None:
    """--enqueue-only: the enqueue, the floor, the course-email path, with memory and load."""
    print(f"database        {args.db}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start")
    enqueue_s, copy_size = enqueue(args.n, args.size)
    enqueue_mb = peak_mb()
    floor_s = floor(ENQUEUED[0])
    print(f"enqueue         {enqueue_s:.2f} s for {args.n:,} copies ({args.n / enqueue_s:,.0f} rows/s), "
          f"peak RSS {enqueue_mb:.0f} MB")
    print(f"floor           {floor_s:.2f} s: INSERT … SELECT of the same rows into a table without index "
          f"or constraint; enqueue is {enqueue_s / floor_s:.1f}× it")
    course_s, copies = course_email(args.n)
    print(f"course email    {course_s:.2f} s for {copies:,} copies (scheduling.schedule, the staff page's path), "
          f"peak RSS {peak_mb():.0f} MB")
    print(f"load average    {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--workers", type=int, choices=(1, 2, 3, 4), default=1)
    ap.add_argument("--n", type=int, default=100_000, help="learners (default 100000)")
    ap.add_argument("--size", type=int, default=10_240, help="approximate message size in bytes")
    ap.add_argument("--batch", type=int, default=500, help="deliveries per batch (MMOOC_MAIL_BATCH)")
    ap.add_argument("--course-email", action="store_true",
                    help="drain a course email's copies (scheduled by scheduling.schedule, their links "
                         "made when sent) instead of a plain message's")
    ap.add_argument("--enqueue-only", action="store_true",
                    help="time the enqueue, its floor and the course-email path; no workers, no sink")
    ap.add_argument("--pg-db", default="mmooc_bench", help="the throw-away database's name (dropped, created)")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    args = ap.parse_args()
    if args.db == "sqlite" and args.workers > 1:
        sys.exit("fanout: SQLite runs one engine; use --db postgres for several workers")

    tmp = Path(tempfile.mkdtemp(prefix="mmooc-bench-"))
    port = free_port()
    env = {**os.environ, "MMOOC_DATA_DIR": str(tmp), "DATABASE_URL": database_url(args, tmp),
           "MMOOC_EMAIL_URL": f"smtp://127.0.0.1:{port}?tls=none", "MMOOC_MAIL_RATE": "0",
           "MMOOC_MAIL_BATCH": str(args.batch), "DJANGO_SETTINGS_MODULE": "mmooc.settings",
           "MMOOC_LOG_LEVEL": "WARNING", "SECRET_KEY": "bench-secret-key-" + "x" * 40}
    os.environ.update(env)
    subprocess.run([MMOOC, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    if args.enqueue_only:
        try:
            enqueue_only(args)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    sink = subprocess.Popen([tool("smtp-sink"), "-u", "nobody", f"127.0.0.1:{port}", "1000"])
    try:
        time.sleep(0.5)  # let smtp-sink bind its port
        if args.course_email:
            enqueue_s, copy_size = due_course_email(args.n)
        else:
            enqueue_s, copy_size = enqueue(args.n, args.size)
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # the claims planned as on a database in use (autovacuum)
                cursor.execute("ANALYZE mailer_delivery")
        connection.close()
        seconds, peaks = run_workers(env, args.workers, args.batch)
        sent = count_sent()
        ceiling = sink_ceiling(port, args.workers, min(args.n, 50_000), copy_size)
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    rate = sent / seconds
    print(f"database        {args.db}, {args.workers} worker(s), batch {args.batch}")
    print(f"learners        {args.n}  (copy size {copy_size} bytes)")
    print(f"enqueue         {enqueue_s:.2f} s  ({args.n / enqueue_s:,.0f} rows/s)")
    print(f"sent            {sent} in {seconds:.1f} s = {rate:,.0f} msgs/s")
    print(f"worker peak RSS {', '.join(f'{kb / 1024:.0f} MB' for kb in peaks)}")
    print(f"sink ceiling    {ceiling:,.0f} msgs/s with smtp-source over {args.workers} connection(s)")
    print(f"ratio           {rate / ceiling:.0%} of the sink's ceiling")
    if sent != args.n:
        sys.exit(f"fanout: only {sent} of {args.n} deliveries were sent")


if __name__ == "__main__":
    main()
