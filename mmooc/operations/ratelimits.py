"""Rate limits shared by every process and machine, counted in the database.

    count, wait = ratelimits.hit("signin:addr:203.0.113.7", window=900)   # one more attempt
    count, wait = ratelimits.peek("signin:addr:203.0.113.7")               # without counting
    ratelimits.clear("signin:user:olivia")

A key's window opens at its first hit and lasts `window` seconds; the hits in it are counted
in one row, and the first hit after it closes opens a new one. A hit is one upsert
(INSERT … ON CONFLICT DO UPDATE … RETURNING, SQLite ≥ 3.35 and PostgreSQL): two processes
counting the same key at once each see their own, distinct count. `wait` is the seconds
until the window closes. Closed windows are deleted by the periodic job `operations.prune`.
"""

from __future__ import annotations

import hashlib
import time

from django.db import connection

from mmooc.operations.models import RateWindow

MAX_KEY = RateWindow._meta.get_field("key").max_length or 200


def _key(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return key[: MAX_KEY - 41] + ":" + hashlib.sha1(key.encode()).hexdigest()


def hit(key: str, window: float, now: float | None = None, *, hits: int = 1) -> tuple[int, float]:
    """Count `hits` (one) for `key`; (hits in its window so far, seconds until the window closes)."""
    now = time.time() if now is None else now
    quote = connection.ops.quote_name
    table, count, expires = quote(RateWindow._meta.db_table), quote("count"), quote("expires")
    sql = (f"INSERT INTO {table} ({quote('key')}, {count}, {expires}) VALUES (%s, %s, %s) "
           f"ON CONFLICT ({quote('key')}) DO UPDATE SET "
           f"{count} = CASE WHEN {table}.{expires} <= %s THEN excluded.{count} "
           f"ELSE {table}.{count} + excluded.{count} END, "
           f"{expires} = CASE WHEN {table}.{expires} <= %s THEN excluded.{expires} ELSE {table}.{expires} END "
           f"RETURNING {count}, {expires}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [_key(key), hits, now + window, now, now])
        hits, closes = cursor.fetchone()
    return int(hits), max(0.0, float(closes) - now)


def open_windows(prefix: str, now: float | None = None) -> dict[str, tuple[int, float]]:
    """Every open window whose key starts with `prefix`: {key: (hits, seconds until it closes)}."""
    now = time.time() if now is None else now
    rows = RateWindow.objects.filter(key__startswith=prefix, expires__gt=now).values_list("key", "count", "expires")
    return {key: (int(n), float(expires) - now) for key, n, expires in rows}


def peek(key: str, now: float | None = None) -> tuple[int, float]:
    """(hits in the key's open window, seconds until it closes); (0, 0) when none is open."""
    now = time.time() if now is None else now
    row = RateWindow.objects.filter(key=_key(key), expires__gt=now).values_list("count", "expires").first()
    if row is None:
        return 0, 0.0
    return int(row[0]), float(row[1]) - now


def clear(key: str) -> None:
    RateWindow.objects.filter(key=_key(key)).delete()


def prune(now: float | None = None) -> int:
    """Delete closed windows; how many."""
    now = time.time() if now is None else now
    deleted, _ = RateWindow.objects.filter(expires__lte=now).delete()
    return deleted
