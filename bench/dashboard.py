"""Every staff page of a large cohort, as an organizer loads it: p50/p95 per page.

    .venv/bin/python bench/dashboard.py                       # 100,000 learners on SQLite
    .venv/bin/python bench/dashboard.py --learners 1000000 --database postgres
    .venv/bin/python bench/dashboard.py --runs 20 --keep /tmp/dash   # keep the data for the next run
    .venv/bin/python bench/dashboard.py --db postgres --n 1000000 --pg-name mmooc_bench_1m  # kept too

The cohort is the demo's (`mmooc demo --no-serve --learners N`: the demo course, generated
learners, groups formed with their welcome emails, sample posts, this week's and next week's
emails scheduled), on a temporary database unless --keep names a folder (SQLite) or --pg-name
a PostgreSQL database that already holds it (either is kept for the next run). The learners
are written with COPY on PostgreSQL (one executemany on SQLite), never one ORM save per row;
on PostgreSQL the tables are then vacuumed and analyzed, as autovacuum keeps them on a live
site. Then it signs in as an organizer with Django's test Client and loads each kind of staff
page N times (after one warm-up load), printing p50 and p95 in milliseconds and the number of
SQL statements of one load, and flags each page whose p95 is over the target (300 ms at
100,000 learners, 1 s at 1,000,000). The machine's load average is printed before and after,
since other work on the machine slows every figure; so is the median CPU time of this process
per load (CPU ms): on SQLite it holds the database's work too, and is about what a load takes
on a quiet machine, far less disturbed by the others (on PostgreSQL the server's work is not in it).
Group health and remedies are then loaded again as "health week 5" and "remedies week 5",
with the cohort's dates moved three weeks back for them (and restored after): past week 2
every group with fewer than three active members is quiet, and each quiet group with room is
weighed for a remedy, which the demo's cohort, ten days into its run, does not show.
Between loads, never inside a timed one, the bench runs the periodic job mailer.counts every
counts.EVERY seconds, as `mmooc worker` does on a live site, and prints its times apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def setup(database: str, postgres_url: str, keep: str | None, pg_name: str | None = None) -> tuple[str, str]:
    """Point Django at the bench's database; returns the PostgreSQL database to drop afterwards
    ("" for none: SQLite, or a kept --pg-name) and the data folder."""
    folder = keep or tempfile.mkdtemp(prefix="mmooc-bench-")
    Path(folder).mkdir(parents=True, exist_ok=True)
    os.environ["MMOOC_DATA_DIR"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmooc.settings")
    name = ""
    if database == "postgres":
        import psycopg

        name = pg_name or f"mmooc_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = f"{postgres_url}/{name}"
        if pg_name:
            name = ""  # kept for the next run
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django

    django.setup()
    return name, folder


def teardown(name: str, postgres_url: str) -> None:
    from django.db import connections

    connections.close_all()
    if name:
        import psycopg

        with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}"')


def build(learners: int) -> None:
    """The demo's cohort with `learners` learners (kept if it is already there at that size)."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    call_command("demo", learners=learners, no_serve=True, stdout=out, stderr=StringIO())
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Statistics and the visibility map (index-only scans) as autovacuum keeps them on a live site.
            cursor.execute("VACUUM ANALYZE")
    lines = [line for line in out.getvalue().splitlines() if line.strip() and "password" not in line]
    for line in lines[:12]:
        print(f"  | {line}")
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)


def organizer():
    from django.contrib.auth.models import Group, User

    from mmooc.lib.staff import ORGANIZER

    user, _ = User.objects.get_or_create(username="bench-organizer", defaults={"email": "bench@example.org"})
    user.groups.add(Group.objects.get_or_create(name=ORGANIZER)[0])
    return user


def pages(cohort) -> list[tuple[str, str]]:
    """(name, URL) of each kind of staff page, for the demo cohort."""
    from django.urls import reverse

    from mmooc.emails.models import CourseEmail
    from mmooc.groups.models import StudyGroup
    from mmooc.learners.models import Learner
    from mmooc.mailer.models import Message

    slug = cohort.slug
    # The email with the most copies: the first scheduled one that is not the welcome.
    email = CourseEmail.objects.filter(cohort=cohort, message__isnull=False).exclude(
        trigger=CourseEmail.TRIGGER_WELCOME).order_by("pk").first() \
        or CourseEmail.objects.filter(cohort=cohort).order_by("pk").first()
    group = StudyGroup.objects.filter(cohort=cohort).order_by("number").first()
    learner = Learner.objects.filter(cohort=cohort, memberships__isnull=False).order_by("pk").first()
    message = email.message if email is not None and email.message_id else Message.objects.order_by("-pk").first()
    found = [
        ("home", reverse("dashboard:home")),
        ("overview", reverse("dashboard:overview", args=[slug])),
        ("emails", reverse("emails:list", args=[slug])),
    ]
    if email is not None:
        found.append(("email edit", reverse("emails:edit", args=[slug, email.public_id])))
        found.append(("email sending", reverse("emails:sending", args=[email.public_id])))
    found += [
        ("grouping", reverse("groups:grouping", args=[slug])),
        ("groups", reverse("groups:list", args=[slug])),
    ]
    if group is not None:
        found.append(("group", reverse("groups:detail", args=[slug, group.number])))
    found += [
        ("learners", reverse("learners:staff_list", args=[slug])),
        ("learners search", reverse("learners:staff_list", args=[slug]) + "?q=smith"),
    ]
    if learner is not None:
        found.append(("learner", reverse("learners:staff_detail", args=[slug, learner.public_id])))
    found += [
        ("exports", reverse("dashboard:exports", args=[slug])),
        ("audit", reverse("dashboard:audit")),
        ("cost", reverse("dashboard:cost", args=[slug])),
        ("outbox", reverse("mailer:outbox")),
        ("outbox search", reverse("mailer:outbox") + "?q=smith"),
    ]
    if message is not None:
        found.append(("outbox message", reverse("mailer:outbox_message", args=[message.public_id])))
    found += [
        ("suppressions", reverse("mailer_suppression:index")),
        ("group health", reverse("insights:health", args=[slug])),
        ("remedies", reverse("insights:remedies", args=[slug])),
        ("research", reverse("insights:research", args=[slug])),
        ("check-ins", reverse("checkins:checkins", args=[slug])),
    ]
    return found


# Pages whose work depends on the course week: loaded again with the cohort moved to week 5,
# where every group with fewer than three active members is quiet (the demo's, ten days in,
# has none), so that group health and remedies weigh each quiet group as a late course would.
LATER = {"health week 5": "insights:health", "remedies week 5": "insights:remedies"}
LATER_WEEKS = 3


def later(client, cohort, runs: int, job, target: float, only: set[str]) -> list[str]:
    """Load LATER's pages with the cohort started LATER_WEEKS weeks earlier (restored after);
    returns the pages over target."""
    from datetime import timedelta

    from django.urls import reverse

    from mmooc.courses.models import Cohort

    shift = timedelta(weeks=LATER_WEEKS)
    dates = Cohort.objects.filter(pk=cohort.pk)
    dates.update(start_date=cohort.start_date - shift, end_date=cohort.end_date - shift)
    over = []
    try:
        for page, name in LATER.items():
            if only and page not in only:
                continue
            times, cpu, statements, status = measure(client, reverse(name, args=[cohort.slug]), runs, job)
            over += report(page, status, statements, times, cpu, target)
    finally:
        dates.update(start_date=cohort.start_date, end_date=cohort.end_date)
    return over


def report(page: str, status: int, statements: int, times: list[float], cpu: list[float], target: float) -> list[str]:
    """Print one page's line; returns [page] when its p95 is over target."""
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
    flag = "  OVER" if p95 > target else ""
    used = statistics.median(cpu)
    print(f"{page:<16} {status:>6} {statements:>5} {p50:>8.0f} {p95:>8.0f} {used:>8.0f}{flag}", flush=True)
    return [page] if flag else []


class CountsJob:
    """The periodic job mailer.counts, as `mmooc worker` runs it: at most every counts.EVERY
    seconds, between page loads (never inside a timed one); its own times are kept apart."""

    def __init__(self) -> None:
        self.last = float("-inf")
        self.times: list[float] = []

    def turn(self) -> None:
        from mmooc.mailer import counts

        if time.monotonic() - self.last >= counts.EVERY:
            started = time.perf_counter()
            counts.run()
            self.times.append((time.perf_counter() - started) * 1000)
            self.last = time.monotonic()


def measure(client, url: str, runs: int, job: CountsJob | None = None) -> tuple[list[float], list[float], int, int]:
    from django.db import connection

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    if job is not None:
        job.turn()
    with connection.execute_wrapper(count):
        status = client.get(url).status_code  # warm-up, and the statement count of one load
    times, cpu = [], []
    for _ in range(runs):
        if job is not None:
            job.turn()
        started, used = time.perf_counter(), time.process_time()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return times, cpu, len(statements), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", "--n", type=int, default=100_000)
    parser.add_argument("--database", "--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--runs", type=int, default=10, help="loads of each page (after one warm-up)")
    parser.add_argument("--only", default="", help="comma-separated page names to load (default: all)")
    parser.add_argument("--keep", default=None, metavar="FOLDER",
                        help="SQLite: keep the data in FOLDER and reuse it on the next run")
    parser.add_argument("--pg-name", default=None, metavar="NAME",
                        help="PostgreSQL: keep the data in database NAME and reuse it on the next run")
    args = parser.parse_args()
    if args.keep and args.database != "sqlite":
        parser.error("--keep works with --database sqlite only (--pg-name for postgres)")
    if args.pg_name and args.database != "postgres":
        parser.error("--pg-name works with --database postgres only")
    target = 300.0 if args.learners <= 100_000 else 1000.0
    name, _ = setup(args.database, args.postgres.rstrip("/"), args.keep, args.pg_name)
    try:
        from django.conf import settings
        from django.test import Client

        from mmooc.courses.models import Cohort
        from mmooc.site.management.commands.demo import DEMO_COHORT

        settings.ALLOWED_HOSTS = ["*"]
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"database: {args.database}; {args.learners:,} learners; {args.runs} loads per page; "
              f"target p95 < {target:.0f} ms", flush=True)
        build(args.learners)
        cohort = Cohort.objects.get(slug=DEMO_COHORT)
        client = Client()
        client.force_login(organizer())
        only = {s.strip() for s in args.only.split(",") if s.strip()}
        print(f"{'page':<16} {'status':>6} {'SQL':>5} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8}")
        over = []
        job = CountsJob()
        for page, url in pages(cohort):
            if only and page not in only:
                continue
            times, cpu, statements, status = measure(client, url, args.runs, job)
            over += report(page, status, statements, times, cpu, target)
        if not only or only & set(LATER):
            over += later(client, cohort, args.runs, job, target, only)
        print(f"over target: {', '.join(over) or 'none'}")
        if job.times:
            print(f"job mailer.counts (between loads, not in the figures): {len(job.times)} turns, "
                  f"median {statistics.median(job.times):.0f} ms, longest {max(job.times):.0f} ms")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        teardown(name, args.postgres.rstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
