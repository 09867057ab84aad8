"""Periodic jobs (purging expired signups, daily digests …) run by `mmooc serve` and `mmooc worker`.

Apps register their jobs in `AppConfig.ready()`:

    periodic.register("learners.purge", purge_unconfirmed, every=3600)

Each job runs at most once per `every` seconds per process (MMOOC_PERIODIC_EVERY changes
a job's interval); a failing job is logged and retried at its next turn, never stopping the
loop that runs it. `wake(name)` makes a job run at the loop's next look, within half a
second, in this process (a staff page that has just left work for a job says so); other
processes find the work at the job's next turn.

With several processes (`mmooc serve`, any number of `mmooc worker`, on one machine or
many), the loop is given a `claim`: before running a job whose turn has come, a process
claims the turn, and only the one that gets it runs the job, so each job runs once per
interval among them all (mmooc.operations.leases keeps the turns in the database). A
woken job claims its turn whatever the others did.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("mmooc.periodic")


@dataclass
class Job:
    name: str
    func: Callable[[], object]
    every: float
    last_run: float = float("-inf")
    woken: bool = False


# claim(name, every, woken) -> True when this process may run the job now.
Claim = Callable[[str, float, bool], bool]


_jobs: dict[str, Job] = {}
_woken = threading.Event()
INTERVAL = 5.0  # seconds between the loop's looks at the jobs
KEEP_CONNECTION_UNDER = 1.0  # seconds between looks under which the loop keeps its database connection


def register(name: str, func: Callable[[], object], every: float) -> None:
    from django.conf import settings

    _jobs[name] = Job(name, func, getattr(settings, "PERIODIC_EVERY", {}).get(name, every))


def wake(name: str) -> None:
    """Run the job `name` at the loop's next look, whenever it last ran."""
    job = _jobs.get(name)
    if job is not None:
        job.last_run = float("-inf")
        job.woken = True
        _woken.set()


def jobs() -> list[Job]:
    return list(_jobs.values())


def run_pending(clock: Callable[[], float] = time.monotonic, claim: Claim | None = None) -> list[str]:
    """Run every job whose turn has come (and, given `claim`, whose turn this process got);
    returns the names of those that ran."""
    ran = []
    for job in jobs():
        now = clock()
        if now - job.last_run < job.every:
            continue
        job.last_run = now
        woken, job.woken = job.woken, False
        if claim is not None and not _claimed(claim, job, woken):
            continue
        started = time.monotonic()
        try:
            job.func()
        except Exception:
            log.exception("periodic job %s failed; it runs again in %ss", job.name, job.every)
        else:
            log.debug("periodic job %s ran in %.3f s", job.name, time.monotonic() - started)
        ran.append(job.name)
    return ran


def _claimed(claim: Claim, job: Job, woken: bool) -> bool:
    try:
        return claim(job.name, job.every, woken)
    except Exception:
        log.exception("periodic job %s: its turn could not be claimed; it is tried again in %ss",
                      job.name, job.every)
        return False


def loop(stop: threading.Event, interval: float = INTERVAL, claim: Claim | None = None) -> None:
    """Run pending jobs every `interval` seconds (more often when a job's own interval is
    shorter), or when woken, until `stop` is set (a thread's target). `claim`: see above."""
    from django.db import close_old_connections, connections

    try:
        while not stop.is_set():
            close_old_connections()  # a connection the database dropped is not reused
            run_pending(claim=claim)
            look = min([interval, *(job.every for job in jobs())])
            if look >= KEEP_CONNECTION_UNDER:
                # Seconds pass between rounds: a server connection kept open meanwhile is a
                # PostgreSQL process (about 10 MB) waiting for a few queries every `look` s.
                connections.close_all()
            deadline = time.monotonic() + look
            while not stop.is_set() and time.monotonic() < deadline:
                if _woken.wait(min(0.5, max(0.0, deadline - time.monotonic()))):
                    break
            _woken.clear()
    finally:
        connections.close_all()
