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

Cyclic garbage collection is paused meanwhile (`cycle_collection_paused`): the copies are
never in a cycle, and the collections their allocations set off walked the whole heap.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from django.db import connection
from django.utils import translation

T = TypeVar("T")
R = TypeVar("R")


SWITCH_INTERVAL = 0.0002  # seconds; Python's default is 0.005


def _while_any(change: Callable[[], Callable[[], None]]) -> Callable[[], AbstractContextManager[None]]:
    """A block that makes a process-wide `change` (which returns its undoing) while any such
    block runs: nested and concurrent blocks undo it once the last of them ends."""
    lock = threading.Lock()
    users = 0
    undo: Callable[[], None] = lambda: None  # noqa: E731

    @contextmanager
    def block() -> Iterator[None]:
        nonlocal users, undo
        with lock:
            if users == 0:
                undo = change()
            users += 1
        try:
            yield
        finally:
            with lock:
                users -= 1
                if users == 0:
                    undo()

    return block


def _switch_quickly() -> Callable[[], None]:
    found = sys.getswitchinterval()
    sys.setswitchinterval(min(found, SWITCH_INTERVAL))
    return lambda: sys.setswitchinterval(found)


def _pause_cycle_collection() -> Callable[[], None]:
    if not gc.isenabled():
        return lambda: None
    gc.disable()
    return gc.enable


# GIL hand-overs every SWITCH_INTERVAL for the block: for a thread that waits on a server many
# times while another computes.
quick_switches = _while_any(_switch_quickly)

# No cyclic garbage collection for the block. A batch's copies are dicts, tuples and strings,
# freed as soon as they are written, and never in a cycle; but each 700 more containers made
# than freed would start a collection, and every so often one over every object of the
# process (a million learners' group values among them): 11 % of the helper's instructions
# with a heap of 700,000 group values (callgrind, bench/README.md). Cycles made meanwhile, by
# any thread, wait for the collector to be back on, once the last block ends.
cycle_collection_paused = _while_any(_pause_cycle_collection)


class QueryOffThread(RuntimeError):
    """A query made by work prepared in the helper thread."""


def _refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise QueryOffThread(f"work prepared ahead may not use the database (it ran: {sql[:200]})")


def ahead(batches: Iterable[T], prepare: Callable[[T], R]) -> Iterator[R]:
    """`prepare(batch)` of each batch, in order, each made while the caller handles the one
    before. Its exceptions reach the caller where that batch's result would; at most two
    batches are held at once (the one being written, the one being prepared).

    Iterate it in a `for` loop: the quick switches and the paused collector end when the
    generator ends or is dropped, which a caller that stops early or fails does at once."""
    language = translation.get_language()

    def run(batch: T) -> R:
        # The helper thread's own connection object (Django keeps one per thread): never
        # opened, and refusing any query.
        with translation.override(language), connection.execute_wrapper(_refuse):
            return prepare(batch)

    with quick_switches(), cycle_collection_paused(), \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmooc-ahead") as helper:
        pending: Future[R] | None = None
        for batch in batches:
            following = helper.submit(run, batch)
            if pending is not None:
                yield pending.result()
            pending = following
        if pending is not None:
            yield pending.result()
