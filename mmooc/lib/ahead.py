"""Batches prepared one ahead in a helper thread while the caller's thread writes.

A course email to a million learners is two kinds of work of about equal size: Python making
each copy (values, signed links, checks, JSON) and the database writing it. Done one after
the other they add up; here each batch is prepared while the database writes the one before
(the driver lets other threads run while it waits for the server).

    for rows in ahead(batches_read_from_a_cursor, make_rows):
        write(rows)

The batches are read in the caller's thread, so they may come from a server-side cursor of
the caller's transaction. `prepare` runs in the helper thread, outside that transaction: it
must not use the database, and a query it makes raises `QueryOffThread` (a row read there
would not see what the transaction wrote). It runs with the caller's language active.

While a helper runs, the interpreter hands the GIL from thread to thread every 0.2 ms instead
of every 5 (`quick_switches`): the caller's thread waits for the server many times a batch
(each FETCH, each socket-full of COPY data, each COPY's end), and by default each time it
would then wait up to 5 ms more for the helper to let go of the GIL. With 300,000 copies
that made the two threads slower than one (18.2 s against 15.8); switching quickly, 11.8 s.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connection
from django.utils import translation

T = TypeVar("T")
R = TypeVar("R")


SWITCH_INTERVAL = 0.0002  # seconds; Python's default is 0.005
_switching = threading.Lock()
_users = 0  # the quick_switches blocks running now, in any thread
_default = sys.getswitchinterval()


@contextmanager
def quick_switches() -> Iterator[None]:
    """GIL hand-overs every SWITCH_INTERVAL for the block: for a thread that waits on a server
    many times while another computes. Nested and concurrent blocks restore the interval
    found before the first once the last ends."""
    global _users, _default
    with _switching:
        if _users == 0:
            _default = sys.getswitchinterval()
            sys.setswitchinterval(min(_default, SWITCH_INTERVAL))
        _users += 1
    try:
        yield
    finally:
        with _switching:
            _users -= 1
            if _users == 0:
                sys.setswitchinterval(_default)


class QueryOffThread(RuntimeError):
    """A query made by work prepared in the helper thread."""


def _refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise QueryOffThread(f"work prepared ahead may not use the database (it ran: {sql[:200]})")


def ahead(batches: Iterable[T], prepare: Callable[[T], R]) -> Iterator[R]:
    """`prepare(batch)` of each batch, in order, each made while the caller handles the one
    before. Its exceptions reach the caller where that batch's result would; at most two
    batches are held at once (the one being written, the one being prepared)."""
    language = translation.get_language()

    def run(batch: T) -> R:
        # The helper thread's own connection object (Django keeps one per thread): never
        # opened, and refusing any query.
        with translation.override(language), connection.execute_wrapper(_refuse):
            return prepare(batch)

    with quick_switches(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmooc-ahead") as helper:
        pending: Future[R] | None = None
        for batch in batches:
            following = helper.submit(run, batch)
            if pending is not None:
                yield pending.result()
            pending = following
        if pending is not None:
            yield pending.result()
