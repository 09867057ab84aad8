"""Time to compute and to apply study groups for large cohorts, on SQLite or PostgreSQL.

    .venv/bin/python bench/grouping.py --db sqlite
    .venv/bin/python bench/grouping.py --db postgres --postgres postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/grouping.py --sizes 10000,100000

Each run uses a temporary database (a file in a temporary folder, or a PostgreSQL database
created for the run and dropped after it). Learners are generated with realistic time zones
and languages, written with `mmooc.lib.bulk.insert`, then: "compute" is make_groups on candidates read
from the database; "apply" is apply_grouping as the staff page calls it (the groups, the
memberships and the audit entry, in one transaction); "welcomes" is what the delivery
engine's periodic job (`welcome.queue_pending`) does just after: every group's welcome
email written into the outbox, one delivery per member. Targets: compute 100,000 in under
1 s, apply under 5 s. "apply CPU" is this process's CPU time during apply (PostgreSQL's own
is not counted): on a busy machine it shows what apply costs when the wall time does not.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Where learners live, weighted roughly like a large online course's signups.
ZONES = [("America/New_York", 14), ("America/Chicago", 6), ("America/Los_Angeles", 8), ("America/Sao_Paulo", 5),
         ("America/Mexico_City", 3), ("America/Bogota", 2), ("Europe/London", 6), ("Europe/Paris", 6),
         ("Europe/Berlin", 5), ("Europe/Kyiv", 2), ("Africa/Lagos", 4), ("Africa/Nairobi", 2),
         ("Asia/Kolkata", 12), ("Asia/Kathmandu", 1), ("Asia/Shanghai", 5), ("Asia/Tokyo", 3),
         ("Asia/Jakarta", 3), ("Australia/Sydney", 2), ("Australia/Adelaide", 1), ("Pacific/Auckland", 1),
         ("Pacific/Apia", 1), ("Pacific/Honolulu", 1), ("America/St_Johns", 1), ("Asia/Dubai", 2)]
LANGUAGES = [("en", 70), ("es", 12), ("pt", 6), ("fr", 5), ("de", 3), ("zh", 2), ("ja", 1), ("sw", 1)]


def load() -> str:
    """The 1-, 5- and 15-minute load averages: figures taken on a busy machine are slower."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(db: str, postgres_url: str) -> tuple[str, str]:
    """Point the settings at a fresh database; returns (name, folder) for the clean-up."""
    folder = tempfile.mkdtemp(prefix="mmooc-bench-")
    os.environ["MMOOC_DATA_DIR"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmooc.settings")
    name = ""
    if db == "postgres":
        import psycopg

        name = f"mmooc_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = f"{postgres_url}/{name}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return name, folder


def teardown(name: str, postgres_url: str) -> None:
    from django.db import connections

    connections.close_all()
    if name:
        import psycopg

        with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}"')


def make_cohort(n: int):
    from datetime import date, timedelta

    from django.utils import timezone

    from mmooc.courses.models import Cohort, Course

    course = Course.objects.create(slug=f"bench-{n}", title=f"Bench course {n}", group_size=40,
                                   organizer_name="Bench", organizer_email="team@course.example.org",
                                   postal_line="1 Example Street", group_intro="Say hello.")
    now = timezone.now()
    return Cohort.objects.create(course=course, slug=f"bench-{n}", title="Bench", signup_opens=now - timedelta(days=9),
                                 signup_closes=now + timedelta(days=9), start_date=date(2027, 3, 1),
                                 end_date=date(2027, 4, 30), state=Cohort.PUBLISHED)


def make_learners(cohort, n: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from mmooc.learners.models import Learner
    from mmooc.lib import bulk

    rng = random.Random(n)
    zones = rng.choices([z for z, _ in ZONES], [w for _, w in ZONES], k=n)
    langs = rng.choices([lang for lang, _ in LANGUAGES], [w for _, w in LANGUAGES], k=n)
    now = timezone.now()
    fields = ("cohort", "email", "email_key", "name", "timezone", "country", "language", "wants_group", "answers",
              "state", "source", "signed_up_at", "confirmed_at", "public_id")
    with transaction.atomic():
        bulk.insert(Learner, fields, (
            (cohort.pk, f"l{i}@bench.example.org", f"l{i}@bench.example.org", f"Learner {i}", zones[i], "",
             langs[i], True, {}, Learner.CONFIRMED, Learner.SIGNUP_FORM, now, now, uuid.uuid4())
            for i in range(n)))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # as autovacuum keeps a database in use: its plans are production's
            cursor.execute("ANALYZE")


def run(n: int) -> dict[str, float]:
    from django.db import connection, reset_queries

    from mmooc.groups.apply import candidates, group_settings
    from mmooc.groups.grouping import make_groups

    cohort = make_cohort(n)
    t = time.perf_counter()
    make_learners(cohort, n)
    generate = time.perf_counter() - t

    t = time.perf_counter()
    found = candidates(cohort)
    read = time.perf_counter() - t
    t = time.perf_counter()
    groups = make_groups(found, group_settings(cohort), seed=0)
    compute = time.perf_counter() - t
    del found

    from mmooc.groups import welcome
    from mmooc.groups.apply import apply_grouping

    reset_queries()
    t, cpu = time.perf_counter(), time.process_time()
    # As the staff page applies: groups, memberships and the audit entry in one transaction.
    apply_grouping(cohort, seed=0, welcome_now=False)
    apply, cpu = time.perf_counter() - t, time.process_time() - cpu
    # Then what the engine's periodic job does just after: every group's welcome email.
    t = time.perf_counter()
    queued = welcome.queue_pending()
    mail = time.perf_counter() - t
    assert queued == sum(g.size for g in groups), (queued, sum(g.size for g in groups))
    return {"n": n, "generate": generate, "read": read, "compute": compute, "groups": len(groups),
            "widest": max(g.span_hours for g in groups), "apply": apply, "mail": mail, "rss": rss_mb(),
            "cpu": cpu, "queries": len(connection.queries),
            "floor_members": floor("groups_membership", "group_id, learner_id, joined_at, left_at, muted, delivery",
                                   f"group_id IN (SELECT id FROM groups_studygroup WHERE cohort_id = {cohort.pk})"),
            "floor_mail": floor("mailer_delivery", "message_id, recipient, context, ref, status, not_before, "
                                                   "rfc_message_id, updated_at",
                                f"message_id IN (SELECT id FROM mailer_message WHERE scope = '{cohort.scope}')")}


def floor(table: str, columns: str, where: str) -> float:
    """The baseline, in the same run: INSERT … SELECT of the same rows (this size's) into a
    table of the same columns without index or constraint."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bench_floor AS SELECT {columns} FROM {table} WHERE 1 = 0")
        t = time.perf_counter()
        cursor.execute(f"INSERT INTO bench_floor SELECT {columns} FROM {table} WHERE {where}")
        seconds = time.perf_counter() - t
        cursor.execute("DROP TABLE bench_floor")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated learner counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    name, _ = setup(args.db, args.postgres.rstrip("/"))
    try:
        print(f"database: {args.db}; memory is the process's peak resident size so far; load average "
              f"{load()} at the start")
        print("floor: INSERT … SELECT of the same rows (memberships; welcome deliveries) into a table without "
              "index or constraint, in the same run; × is the ratio to it")
        print(f"{'learners':>10} {'groups':>7} {'widest':>7} {'read':>7} {'compute':>8} {'apply':>7} "
              f"{'apply CPU':>10} {'floor':>6} {'×':>5} {'welcomes':>9} {'floor':>6} {'×':>5} {'peak MB':>8}   "
              "(generate; load after)")
        for n in sizes:
            r = run(n)
            print(f"{r['n']:>10,} {r['groups']:>7,} {r['widest']:>6.2f}h {r['read']:>6.2f}s {r['compute']:>7.2f}s "
                  f"{r['apply']:>6.2f}s {r['cpu']:>9.2f}s {r['floor_members']:>5.2f}s "
                  f"{r['apply'] / r['floor_members']:>5.1f} {r['mail']:>8.2f}s {r['floor_mail']:>5.2f}s "
                  f"{r['mail'] / r['floor_mail']:>5.1f} {r['rss']:>8.0f}   ({r['generate']:.1f}s; {load()})",
                  flush=True)
    finally:
        teardown(name, args.postgres.rstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
