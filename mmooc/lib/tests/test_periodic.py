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
