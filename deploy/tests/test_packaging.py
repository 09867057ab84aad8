"""What `pip install mmooc` brings: the wheel's contents and metadata, and the lock files.

The wheel is built here from a copy of the sources with the locked setuptools (no network):
it ships the application with its templates, static files and migrations, and no tests.
Its file list is printed (`pytest -s` shows it). Both lock files pin every package with
hashes, and what pyproject.toml pins they pin at the same version.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DEV_LOCK, PRODUCTION_LOCK = ROOT / "requirements.lock", ROOT / "deploy" / "requirements.lock"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "mmooc", source / "mmooc", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(source)], check=True, timeout=300, capture_output=True)
    (built,) = out.glob("mmooc-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_the_application_and_no_tests(wheel):
    names = wheel.namelist()
    print("\n".join(names))
    assert not [n for n in names if "/tests/" in n or "/testing/" in n or n.endswith("conftest.py")]
    for needed in ("mmooc/settings.py", "mmooc/lists/socketmap.py", "mmooc/groups/migrations/0001_initial.py",
                   "mmooc/learners/templates/learners/landing.html", "mmooc/static/mmooc/site.css",
                   "mmooc/site/demo/gentle-python/course.yaml"):
        assert needed in names, needed


def test_the_wheel_needs_boto3_and_gunicorn_only_through_extras(wheel):
    (metadata_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    requires = metadata.get_all("Requires-Dist")
    unconditional = [r for r in requires if "extra ==" not in r]
    assert not [r for r in unconditional if r.lower().startswith(("boto3", "gunicorn"))]
    assert 'django-anymail[amazon-ses]==15.2; extra == "amazon-ses"' in requires
    assert any(r.startswith("gunicorn==") and 'extra == "production"' in r for r in requires)
    assert {"production", "amazon-ses", "test"} <= set(metadata.get_all("Provides-Extra"))


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for every package of a lock file."""
    entries: dict[str, tuple[str, int]] = {}
    text = path.read_text()
    for block in re.split(r"\n(?=[a-z0-9])", text):
        m = re.match(r"([a-z0-9][a-z0-9._-]*)==([^ ;\\\n]+)", block)
        if m:
            entries[m.group(1)] = (m.group(2), block.count("--hash=sha256:"))
    return entries


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        m = re.match(r"([A-Za-z0-9._-]+)(\[[^]]*\])?==([^;\s]+)", requirement)
        assert m, f"pyproject.toml: {requirement!r} is not pinned exactly"
        found[re.sub(r"[._]", "-", m.group(1)).lower()] = m.group(3)
    return found


def test_every_package_of_both_locks_is_pinned_with_hashes():
    for path in (DEV_LOCK, PRODUCTION_LOCK):
        entries = locked(path)
        assert len(entries) > 20
        assert not [name for name, (_, hashes) in entries.items() if hashes == 0], path


def test_the_locks_pin_what_pyproject_pins():
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    build = pins(PYPROJECT["build-system"]["requires"])
    production = {**pins(project["dependencies"]), **pins(extras["production"]), **pins(extras["amazon-ses"]),
                  **build}
    dev = locked(DEV_LOCK)
    for name, version in {**production, **pins(extras["test"])}.items():
        assert dev.get(name, ("missing",))[0] == version, f"requirements.lock: {name} (run bin/dev lock)"
    deployed = locked(PRODUCTION_LOCK)
    for name, version in production.items():
        assert deployed.get(name, ("missing",))[0] == version, f"deploy/requirements.lock: {name} (run bin/dev lock)"
    assert "pytest" not in deployed and "playwright" not in deployed
    assert "boto3" in deployed and "gunicorn" in deployed
