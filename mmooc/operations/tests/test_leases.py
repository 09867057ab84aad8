"""Periodic jobs' turns in the database: one process per turn (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.lib import periodic
from mmooc.operations import leases
from mmooc.operations.models import JobLease

pytestmark = pytest.mark.django_db


def test_the_first_claim_takes_the_turn_and_the_next_waits_for_the_interval():
    assert leases.claim("job", every=60, now=1000.0)
    assert not leases.claim("job", every=60, now=1001.0)
    assert not leases.claim("job", every=60, now=1053.0)
    assert leases.claim("job", every=60, now=1059.5)  # a tenth early, at most a second, still counts
    lease = JobLease.objects.get(name="job")
    assert lease.runs == 2 and lease.last_run == 1059.5 and lease.holder == leases.holder()


def test_a_woken_job_takes_its_turn_whatever_the_others_did():
    assert leases.claim("job", every=3600, now=1000.0)
    assert not leases.claim("job", every=3600, now=1001.0)
    assert leases.claim("job", every=3600, woken=True, now=1002.0)
    assert not leases.claim("job", every=3600, now=1003.0)


def test_jobs_have_separate_turns():
    assert leases.claim("a", every=60, now=1000.0)
    assert leases.claim("b", every=60, now=1000.0)
    assert not leases.claim("a", every=60, now=1001.0)


def test_the_loop_with_claims_runs_a_job_once_among_several_processes(monkeypatch):
    """Three processes' loops (as run_pending with their own clocks) share one job's turns."""
    monkeypatch.setattr(periodic, "_jobs", {})
    runs: list[float] = []
    wall = {"now": 1000.0}
    processes = [periodic.Job("job", lambda: runs.append(wall["now"]), 10) for _ in range(3)]

    def claim(name: str, every: float, woken: bool) -> bool:
        return leases.claim(name, every, woken, now=wall["now"])

    for second in range(1000, 1061):
        wall["now"] = float(second)
        for jobs in processes:
            monkeypatch.setattr(periodic, "_jobs", {"job": jobs})
            periodic.run_pending(clock=lambda: wall["now"], claim=claim)
    assert runs == [1000.0, 1010.0, 1020.0, 1030.0, 1040.0, 1050.0, 1060.0]


def test_a_claim_that_fails_is_logged_and_the_job_does_not_run(monkeypatch, caplog):
    monkeypatch.setattr(periodic, "_jobs", {})
    runs: list[str] = []
    periodic.register("job", lambda: runs.append("ran"), every=10)

    def broken(name: str, every: float, woken: bool) -> bool:
        raise RuntimeError("database gone")

    assert periodic.run_pending(clock=lambda: 100, claim=broken) == []
    assert runs == [] and "its turn could not be claimed" in caplog.text


def race_for_a_turn(racers: int, now: float) -> list[bool]:
    """`racers` threads, each with its own connection, claim one turn at once; who won."""
    won: list[bool] = []
    testing.race(racers, lambda: won.append(leases.claim("job", every=60, now=now)))
    return won


@pytest.mark.django_db(transaction=True)
def test_connections_racing_for_one_turn_give_it_to_one():
    for turn in range(5):
        won = race_for_a_turn(6, now=1000.0 + 60 * turn)
        assert won.count(True) == 1, (turn, won)
    assert JobLease.objects.get(name="job").runs == 5
