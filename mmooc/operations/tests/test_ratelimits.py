"""Rate limits counted in the database: one count for every process (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.operations import ratelimits
from mmooc.operations.models import RateWindow

pytestmark = pytest.mark.django_db


def test_hits_are_counted_in_a_window_that_opens_at_the_first():
    assert ratelimits.hit("k", window=60, now=1000.0) == (1, 60.0)
    assert ratelimits.hit("k", window=60, now=1030.0) == (2, 30.0)
    assert ratelimits.peek("k", now=1059.0) == (2, 1.0)
    assert ratelimits.hit("other", window=60, now=1030.0) == (1, 60.0)


def test_the_first_hit_after_the_window_closes_opens_a_new_one():
    ratelimits.hit("k", window=60, now=1000.0)
    ratelimits.hit("k", window=60, now=1010.0)
    assert ratelimits.peek("k", now=1060.0) == (0, 0.0)
    assert ratelimits.hit("k", window=60, now=1060.0) == (1, 60.0)
    assert RateWindow.objects.get().count == 1


def test_clear_forgets_a_key_and_prune_deletes_only_closed_windows():
    ratelimits.hit("old", window=60, now=1000.0)
    ratelimits.hit("new", window=60, now=1050.0)
    ratelimits.hit("gone", window=60, now=1050.0)
    ratelimits.clear("gone")
    assert ratelimits.prune(now=1070.0) == 1
    assert list(RateWindow.objects.values_list("key", flat=True)) == ["new"]


def test_a_hostile_key_of_any_length_is_counted_under_its_own_digest():
    long_a, long_b = "a" * 5000 + "1", "a" * 5000 + "2"
    assert ratelimits.hit(long_a, window=60)[0] == 1
    assert ratelimits.hit(long_b, window=60)[0] == 1
    assert ratelimits.hit(long_a, window=60)[0] == 2
    assert ratelimits.hit("'; DROP TABLE operations_ratewindow; --", window=60)[0] == 1
    assert RateWindow.objects.count() == 3


@pytest.mark.postgres  # SQLite's test database is in memory with a shared cache, whose table
# locks fail at once instead of waiting (a file database, as in production, waits its timeout)
@pytest.mark.django_db(transaction=True)
def test_two_connections_counting_one_key_at_once_share_one_count():
    """Each thread has its own database connection, as each process would."""
    racers, hits = 4, 25
    seen: list[int] = []

    def count() -> None:
        for _ in range(hits):
            seen.append(ratelimits.hit("shared", window=60)[0])

    testing.race(racers, count)
    assert sorted(seen) == list(range(1, racers * hits + 1))  # no count seen twice, none lost
    assert ratelimits.peek("shared")[0] == racers * hits
