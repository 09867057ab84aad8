"""Event counters shared by every process, kept in the database.

    counters.add("signups", label="form")                    # in the event's own transaction
    counters.add_many({("deliveries", "sent"): 480, ("deliveries", "deferred"): 15})
    counters.totals()  →  {("deliveries", "sent"): 1234567, …}

An addition is one upsert on one of SHARDS rows per (name, label), inside the caller's
transaction: it counts exactly when the event commits, and disappears with it when it
rolls back. Totals are the sums, read in one small GROUP BY (a few rows per counter).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.db.models import Sum

from mmooc.operations.models import Counter

SHARDS = 8


def add(name: str, n: int = 1, *, label: str = "") -> None:
    add_many({(name, label): n})


def add_many(counts: Mapping[tuple[str, str], int]) -> None:
    """Add to several counters in one statement; the rows are taken in one order (sorted,
    one shard) so two transactions adding to the same counters never deadlock."""
    shard = random.randrange(SHARDS)
    rows = [(name, label, shard, n) for (name, label), n in sorted(counts.items()) if n]
    if not rows:
        return
    table = connection.ops.quote_name(Counter._meta.db_table)
    sql = (f"INSERT INTO {table} (name, label, shard, value) VALUES (%s, %s, %s, %s) "
           f"ON CONFLICT (name, label, shard) DO UPDATE SET value = {table}.value + excluded.value")
    with connection.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(sql, rows[0])
        else:
            cursor.executemany(sql, rows)


def upsert_cte(counts: Mapping[tuple[str, str], int]) -> tuple[str, list[Any]]:
    """`add_many` as a `WITH counted AS (…) ` prefix for another statement (PostgreSQL), so the
    addition rides on that statement's round trip and commits with it; ("", []) for none."""
    shard = random.randrange(SHARDS)
    rows = [(name, label, shard, n) for (name, label), n in sorted(counts.items()) if n]
    if not rows:
        return "", []
    table = connection.ops.quote_name(Counter._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    return (f"WITH counted AS (INSERT INTO {table} (name, label, shard, value) VALUES {values} "
            f"ON CONFLICT (name, label, shard) DO UPDATE SET value = {table}.value + excluded.value) ",
            [v for row in rows for v in row])


def totals() -> dict[tuple[str, str], int]:
    rows = Counter.objects.values_list("name", "label").annotate(total=Sum("value")).order_by()
    return {(name, label): int(total or 0) for name, label, total in rows}
