"""MMOOC_LIST_MAX_HELD_POST_MB: the largest post held (too big) rather than refused, read at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def read_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with only these variables set."""
    code = ("import mmooc.settings as s; "
            "print(s.LIST_MAX_POST_BYTES, s.LIST_MAX_HELD_POST_BYTES, s.INBOUND_WEBHOOK_MAX_BYTES)")
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)


def test_the_ceiling_is_four_times_the_post_limit_by_default():
    done = read_settings(MMOOC_LIST_MAX_POST_MB="8")
    assert done.stdout.split() == [str(8 * 2**20), str(32 * 2**20), str(3 * 32 * 2**20)]


def test_the_ceiling_may_be_set_and_the_inbound_webhooks_take_a_post_that_big():
    done = read_settings(MMOOC_LIST_MAX_HELD_POST_MB="25")
    assert done.stdout.split() == [str(10 * 2**20), str(25 * 2**20), str(3 * 25 * 2**20)]


def test_a_ceiling_below_the_post_limit_is_refused_by_name():
    done = read_settings(MMOOC_LIST_MAX_POST_MB="10", MMOOC_LIST_MAX_HELD_POST_MB="5")
    assert done.returncode != 0
    assert "ImproperlyConfigured: MMOOC_LIST_MAX_HELD_POST_MB: must be at least 10, got 5" in done.stderr
