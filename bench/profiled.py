"""Run an `mmooc` command under cProfile in every thread, timed by each thread's CPU time.

    .venv/bin/python bench/profiled.py OUT.prof lmtp --host 127.0.0.1 --port 8024
    .venv/bin/python -c "import pstats; pstats.Stats('OUT.prof').sort_stats('tottime').print_stats(30)"

`python -m cProfile` sees only the main thread, where `mmooc lmtp` and `mmooc worker` do
little: the relay runs in a thread pool and the engine sends from a helper thread. Here
each thread started after the wrapper gets a profiler of its own, and the command's exit
(SIGTERM or SIGINT, handled by the command) writes them all, merged, to OUT.prof. The
timer is the thread's CPU time, so waits on the database or the network do not count.
bench/relay.py runs its processes this way with `--profile DIR`.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
import time
from typing import Any

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _new() -> cProfile.Profile:
    profile = cProfile.Profile(time.thread_time)
    with _lock:
        _profiles.append(profile)
    return profile


def _thread_start(frame: Any, event: str, arg: Any) -> None:
    sys.setprofile(None)
    _new().enable()  # replaces this hook in the new thread


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    from mmooc import cli

    threading.setprofile(_thread_start)
    main_profile = _new()
    main_profile.enable()
    try:
        return cli.main(["mmooc", *argv])
    finally:
        main_profile.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        with _lock:
            profiles = list(_profiles)
        stats = None
        for profile in profiles:
            try:
                profile.create_stats()
            except Exception:  # noqa: S112 - a thread's profile still running: skipped
                continue
            if not profile.stats:  # type: ignore[attr-defined]
                continue
            if stats is None:
                stats = pstats.Stats(profile)
            else:
                stats.add(profile)
        if stats is not None:
            stats.dump_stats(out)


if __name__ == "__main__":
    sys.exit(main())
