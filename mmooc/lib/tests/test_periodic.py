from mmooc.lib import periodic


def test_jobs_run_once_per_interval_and_failures_do_not_stop_the_others(monkeypatch):
    monkeypatch.setattr(periodic, "_jobs", {})
    calls = []
    periodic.register("a", lambda: calls.append("a"), every=10)
    periodic.register("b", lambda: 1 / 0, every=10)
    periodic.register("c", lambda: calls.append("c"), every=5)
    assert periodic.run_pending(clock=lambda: 100) == ["a", "b", "c"]
    assert periodic.run_pending(clock=lambda: 106) == ["c"]
    assert periodic.run_pending(clock=lambda: 110) == ["a", "b"]
    assert calls == ["a", "c", "c", "a"]


def test_a_woken_job_runs_at_the_next_look_whatever_its_interval(monkeypatch):
    monkeypatch.setattr(periodic, "_jobs", {})
    periodic.register("hourly", lambda: None, every=3600)
    periodic.register("other", lambda: None, every=3600)
    assert periodic.run_pending(clock=lambda: 100) == ["hourly", "other"]
    assert periodic.run_pending(clock=lambda: 101) == []
    periodic.wake("hourly")
    periodic.wake("unknown")  # nothing to wake: no error
    assert periodic.run_pending(clock=lambda: 102) == ["hourly"]


def test_the_loop_runs_a_woken_job_without_waiting_for_its_interval(monkeypatch):
    import threading

    monkeypatch.setattr(periodic, "_jobs", {})
    runs = threading.Semaphore(0)
    periodic.register("job", runs.release, every=3600)
    stop = threading.Event()
    thread = threading.Thread(target=periodic.loop, args=(stop, 60.0))
    thread.start()
    try:
        assert runs.acquire(timeout=5)  # the first look runs every job
        assert not runs.acquire(timeout=0.7)  # then the loop waits for the interval
        periodic.wake("job")
        assert runs.acquire(timeout=5)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_environment_changes_a_jobs_interval(monkeypatch, settings):
    monkeypatch.setattr(periodic, "_jobs", {})
    settings.PERIODIC_EVERY = {"quick": 2.0}
    periodic.register("quick", lambda: None, every=3600)
    periodic.register("other", lambda: None, every=3600)
    assert {job.name: job.every for job in periodic.jobs()} == {"quick": 2.0, "other": 3600}


def test_only_the_process_that_gets_the_turn_runs_the_job(monkeypatch):
    monkeypatch.setattr(periodic, "_jobs", {})
    calls, asked = [], []
    periodic.register("job", lambda: calls.append("ran"), every=10)

    def claim(name, every, woken):
        asked.append((name, every, woken))
        return len(asked) == 2  # another process had the first turn

    assert periodic.run_pending(clock=lambda: 100, claim=claim) == []
    assert periodic.run_pending(clock=lambda: 105, claim=claim) == []  # not asked again before its interval
    assert periodic.run_pending(clock=lambda: 110, claim=claim) == ["job"]
    periodic.wake("job")
    assert periodic.run_pending(clock=lambda: 111, claim=claim) == []
    assert calls == ["ran"] and asked == [("job", 10, False), ("job", 10, False), ("job", 10, True)]


def test_the_loop_looks_as_often_as_its_shortest_job_asks(monkeypatch):
    import threading

    monkeypatch.setattr(periodic, "_jobs", {})
    runs = threading.Semaphore(0)
    periodic.register("job", runs.release, every=1)
    stop = threading.Event()
    thread = threading.Thread(target=periodic.loop, args=(stop, 60.0))
    thread.start()
    try:
        assert runs.acquire(timeout=5)
        assert runs.acquire(timeout=5)  # a second time long before the loop's 60 seconds
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_loop_lets_its_database_connection_go_between_rounds_seconds_apart(monkeypatch):
    """An idle PostgreSQL connection is a server process of its own (memory) for a few
    queries every few seconds: the loop closes it after each round and opens one when needed."""
    import threading

    from django.db import connections

    monkeypatch.setattr(periodic, "_jobs", {})
    events: list[str] = []
    runs = threading.Semaphore(0)
    periodic.register("job", lambda: events.append("run") or runs.release(), every=periodic.KEEP_CONNECTION_UNDER)
    monkeypatch.setattr(connections, "close_all", lambda: events.append("close"))
    stop = threading.Event()
    thread = threading.Thread(target=periodic.loop, args=(stop, 60.0))
    thread.start()
    try:
        assert runs.acquire(timeout=5)
        assert runs.acquire(timeout=5)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert events[:3] == ["run", "close", "run"]
