"""Every command that prints can be piped into a reader that stops early (`| head`).

The reader closing its end must end the command quietly, as it ends other tools: no
traceback, exit status 141 (a pipe closed, as when killed by SIGPIPE), nothing else
printed on stderr. Run as an operator runs them: `mmooc …` in a shell pipeline.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

MMOOC = str(Path(sys.executable).with_name("mmooc"))
SETUP = """
from mmooc import testing
from mmooc.groups.apply import apply_grouping
cohort = testing.make_cohort(slug="py-3")
for i in range(300):
    testing.make_learner(cohort, f"learner{i}@example.org", name=f"Learner {i}")
apply_grouping(cohort, target_size=10, welcome_now=False)
"""


@pytest.fixture(scope="module")
def environ(tmp_path_factory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("pipes")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(MMOOC_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="mmooc.settings")
    subprocess.run([MMOOC, "migrate", "-v0"], env=env, check=True, timeout=300)
    subprocess.run([MMOOC, "shell", "-c", SETUP], env=env, check=True, timeout=300, capture_output=True)
    return env


@pytest.mark.parametrize(("command", "reader"), [
    ("group export py-3", "head -n 1"),
    ("group export py-3", "true"),
    ("group export py-3 --format json", "head -c 1"),
    ("group preview py-3", "true"),
    ("cohort list", "true"),
    ("email list py-3", "true"),
    ("--help", "true"),
])
def test_a_reader_that_stops_early_ends_the_command_quietly(environ, command, reader):
    pipeline = f"set -o pipefail; {shlex.quote(MMOOC)} {command} | {reader} >/dev/null"
    result = subprocess.run(["bash", "-c", pipeline], env=environ, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr
    assert result.stderr == ""
    assert result.returncode in (0, 141)


def test_a_reader_that_reads_everything_gets_everything(environ):
    result = subprocess.run([MMOOC, "group", "export", "py-3"], env=environ, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 301
