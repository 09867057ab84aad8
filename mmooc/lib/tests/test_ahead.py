"""ahead: batches prepared one ahead in a helper thread, in order, never reading the database."""

from __future__ import annotations

import gc
import sys
import threading

import pytest
from django.db import connection
from django.utils import translation

from mmooc.lib.ahead import SWITCH_INTERVAL, QueryOffThread, ahead, cycle_collection_paused, quick_switches


def test_each_batch_comes_back_prepared_in_order_from_another_thread():
    caller = threading.get_ident()
    seen = []

    def prepare(batch):
        seen.append(threading.get_ident())
        return [x * 2 for x in batch]

    assert list(ahead(iter([[1, 2], [3], [4, 5, 6]]), prepare)) == [[2, 4], [6], [8, 10, 12]]
    assert len(seen) == 3 and caller not in seen


def test_no_batches_prepare_nothing():
    assert list(ahead(iter([]), lambda batch: pytest.fail("prepared an absent batch"))) == []


def test_the_next_batch_is_prepared_while_the_caller_handles_one():
    started = threading.Event()

    def prepare(batch):
        if batch == 2:
            started.set()
        return batch

    results = ahead(iter([1, 2]), prepare)
    assert next(results) == 1
    # The caller holds batch 1: batch 2 is already on its way, not waiting for the next call.
    assert started.wait(5)
    assert list(results) == [2]


def test_the_helper_speaks_the_callers_language():
    with translation.override("es"):
        assert list(ahead(iter([None]), lambda _: translation.get_language())) == ["es"]


@pytest.mark.django_db(transaction=True)
def test_a_query_in_the_helper_is_refused():
    # Outside the caller's transaction a read would not see its rows, a write would not be
    # undone with it: the helper may not use the database at all.
    with pytest.raises(QueryOffThread, match="may not use the database"):
        list(ahead(iter([1]), lambda _: connection.cursor().execute("SELECT 1")))


def test_an_error_in_a_batch_reaches_the_caller_after_the_batches_before():
    def prepare(batch):
        if batch == 2:
            raise ValueError("bad batch")
        return batch

    results = ahead(iter([1, 2, 3]), prepare)
    assert next(results) == 1
    with pytest.raises(ValueError, match="bad batch"):
        next(results)


def test_switches_are_quick_while_a_helper_runs_and_as_before_after():
    before = sys.getswitchinterval()
    results = ahead(iter([1, 2]), lambda batch: sys.getswitchinterval())
    assert next(results) == pytest.approx(SWITCH_INTERVAL)
    assert list(results) == [pytest.approx(SWITCH_INTERVAL)]
    assert sys.getswitchinterval() == before


def test_nested_and_concurrent_blocks_restore_the_interval_once_the_last_ends():
    before = sys.getswitchinterval()
    inside, other_done, release = [], threading.Event(), threading.Event()

    def other():
        with quick_switches():
            other_done.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with quick_switches():
        thread.start()
        assert other_done.wait(5)
        with quick_switches():
            inside.append(sys.getswitchinterval())
        inside.append(sys.getswitchinterval())
    inside.append(sys.getswitchinterval())  # the other thread's block still runs
    release.set()
    thread.join(5)
    assert inside == [pytest.approx(SWITCH_INTERVAL)] * 3
    assert sys.getswitchinterval() == before


def test_cycle_collection_is_paused_while_a_helper_runs_and_resumed_after():
    assert gc.isenabled()
    results = ahead(iter([1, 2]), lambda batch: gc.isenabled())
    assert list(results) == [False, False]
    assert gc.isenabled()


def test_cycle_collection_resumes_once_the_last_block_ends_even_after_an_error():
    inside = []
    with cycle_collection_paused():
        with pytest.raises(ValueError), cycle_collection_paused():
            raise ValueError("bad batch")
        inside.append(gc.isenabled())
    assert inside == [False] and gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with cycle_collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_back_on_when_the_caller_stops_early_or_fails():
    def stop_early():
        for batch in ahead(iter([1, 2, 3]), lambda batch: batch):
            if batch == 1:
                return gc.isenabled()

    def fail():
        for _ in ahead(iter([1, 2, 3]), lambda batch: batch):
            raise KeyError("the caller's own error")

    assert stop_early() is False and gc.isenabled()
    with pytest.raises(KeyError):
        fail()
    assert gc.isenabled()
