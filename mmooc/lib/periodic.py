"""Periodic jobs (purging expired signups, daily digests …) run by `mmooc serve` and `mmooc worker`.

Apps register their jobs in `AppConfig.ready()`:

    periodic.register("learners.purge", purge_unconfirmed, every=3600)

Each job runs at most once per `every` seconds per process; a failing job is logged and
retried at its next turn, never stopping the loop that runs it. `wake(name)` makes a job
run at the loop's next look, within half a second, in this process (a staff page that has
just left work for a job says so); other processes find the work at the job's next turn.
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


_jobs: dict[str, Job] = {}
_woken = threading.Event()
INTERVAL = 5.0  # seconds between the loop's looks at the jobs


def register(name: str, func: Callable[[], object], every: float) -> None:
    _jobs[name] = Job(name, func, every)


def wake(name: str) -> None:
    """Run the job `name` at the loop's next look, whenever it last ran."""
    job = _jobs.get(name)
    if job is not None:
        job.last_run = float("-inf")
        _woken.set()


def jobs() -> list[Job]:
    return list(_jobs.values())


def run_pending(clock: Callable[[], float] = time.monotonic) -> list[str]:
    """Run every job whose turn has come; returns the names of those that ran."""
    ran = []
    for job in jobs():
        now = clock()
        if now - job.last_run < job.every:
            continue
        job.last_run = now
        try:
            job.func()
        except Exception:
            log.exception("periodic job %s failed; it runs again in %ss", job.name, job.every)
        ran.append(job.name)
    return ran


def loop(stop: threading.Event, interval: float = INTERVAL) -> None:
    """Run pending jobs every `interval` seconds, or when woken, until `stop` is set (a thread's target)."""
    from django.db import connections

    try:
        while not stop.is_set():
            run_pending()
            deadline = time.monotonic() + interval
            while not stop.is_set() and time.monotonic() < deadline:
                if _woken.wait(min(0.5, max(0.0, deadline - time.monotonic()))):
                    break
            _woken.clear()
    finally:
        connections.close_all()
