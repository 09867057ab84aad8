"""Time to write a grouping's welcome messages (the messages, not their copies), on SQLite or PostgreSQL.

    .venv/bin/python bench/welcome_messages.py --db postgres
    .venv/bin/python bench/welcome_messages.py --db sqlite --messages 25000

A million learners make some 25,000 groups, so 25,000 welcome messages of a few kilobytes
each, written 250 at a time as `welcome.send_welcomes` writes them (`outbox.compose_many`),
each round in a transaction that is rolled back. Prints each round's wall and CPU time (this
process's; the database's own is not counted). A temporary database, as bench/grouping.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grouping import setup, teardown  # noqa: E402  (the same throw-away database)

BATCH = 250  # groups per transaction of send_welcomes (welcome.WELCOME_BATCH)


def fields(n: int) -> dict:
    from mmooc.mailer.models import Message

    body = (f"Welcome to Group {n}, one of the study groups of the course.\n\n"
            + "Say hello to the group: tell them where you are and what you hope to learn. " * 20
            + "\n\n" + "\n".join(f"- Learner {n}-{i} (UTC+{i % 12})" for i in range(40)))
    return {"kind": Message.SUBSCRIBED, "subject": f"Welcome to Group {n}", "body": body, "scope": "cohort:1",
            "tag": "group-welcome", "list_id": f"bench-group-{n}.lists.example.org", "list_name": f"Group {n}",
            "reply_to": f"bench-group-{n}@lists.example.org", "footer": "Bench team, 1 Example Street",
            "headers": {"Content-Language": "en"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--messages", type=int, default=25_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    name, _ = setup(args.db, args.postgres.rstrip("/"))
    try:
        from django.db import transaction

        from mmooc.mailer import outbox

        print(f"database: {args.db}; {args.messages:,} messages of {len(fields(0)['body']):,} characters, "
              f"{BATCH} per compose_many")
        for round_ in range(1, args.rounds + 1):
            cpu, wall = time.process_time(), time.perf_counter()
            with transaction.atomic():
                for start in range(0, args.messages, BATCH):
                    outbox.compose_many(fields(n) for n in range(start, min(start + BATCH, args.messages)))
                transaction.set_rollback(True)
            print(f"round {round_}: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU")
    finally:
        teardown(name, args.postgres.rstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
