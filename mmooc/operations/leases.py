"""Periodic jobs' turns, shared by every process and machine through the database.

`mmooc serve` and each `mmooc worker` run the periodic loop (mmooc.lib.periodic) with
`claim`: a process whose job is due moves the job's row forward by its interval in one
UPDATE … WHERE due <= now, and runs the job only when that UPDATE changed the row. Two
processes racing for one turn cannot both change it (the second finds `due` already moved),
so each job runs once per interval whichever process holds the turn; when a process stops,
the others take the next turns. The row also says who ran the job last, when, and how many
times it has run (`mmooc shell`: JobLease.objects.all()).

Times are seconds since the epoch from each machine's clock: machines sharing a database
keep their clocks in step (NTP), as they must for the signed links anyway.
"""

from __future__ import annotations

import os
import socket
import time

from django.db import connection

from mmooc.operations.models import JobLease


def holder() -> str:
    """This process, as the lease rows name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(name: str, every: float, woken: bool = False, now: float | None = None) -> bool:
    """Take the job's turn if it has come (any time when `woken`); True when this process got it.

    A turn may be taken up to a tenth of the interval (at most a second) before it is due, so
    that loops looking at slightly different moments do not skip one."""
    now = time.time() if now is None else now
    due = now + every - min(1.0, every / 10)
    quote = connection.ops.quote_name
    table = quote(JobLease._meta.db_table)
    columns = {c: quote(c) for c in ("name", "due", "holder", "runs", "last_run")}
    when = "" if woken else f" AND {columns['due']} <= %s"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {columns['due']} = %s, {columns['holder']} = %s, "
                       f"{columns['runs']} = {columns['runs']} + 1, {columns['last_run']} = %s "
                       f"WHERE {columns['name']} = %s{when}",
                       [due, holder(), now, name, *([] if woken else [now])])
        if cursor.rowcount == 1:
            return True
        # The job's first turn ever: the process that inserts its row has it.
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns.values())}) VALUES (%s, %s, %s, 1, %s) "
                       f"ON CONFLICT ({columns['name']}) DO NOTHING", [name, due, holder(), now])
        return cursor.rowcount == 1
