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
