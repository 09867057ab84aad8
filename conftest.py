"""Test set-up shared by every app: service markers, personas, a real SMTP server, a browser.

Tests marked `postgres` run only when the database is PostgreSQL (the second pass of
`bin/dev test`, with MMOOC_TEST_POSTGRES_URL set); tests marked `browser` need Debian's
chromium; tests marked `tool("postfix", …)` need those programs (Postfix, nginx,
systemd-analyze). Outside CI, a missing service skips them; under CI (CI is set) it fails them.
"""

from __future__ import annotations

import os
import shutil

import pytest

from mmooc import testing

IN_CI = bool(os.environ.get("CI"))


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = os.environ.get("MMOOC_TEST_PASS") == "postgres"
    keep, drop = [], []
    for item in items:
        if on_postgres and item.get_closest_marker("browser"):
            drop.append(item)  # browser tests run once, in the SQLite pass
        elif (not on_postgres and item.get_closest_marker("postgres")
              and os.environ.get("MMOOC_TEST_POSTGRES_URL")):
            drop.append(item)  # they run in the PostgreSQL pass
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            _missing("needs PostgreSQL: set MMOOC_TEST_POSTGRES_URL and run bin/dev test")
    if item.get_closest_marker("browser"):
        if not os.path.exists(testing.CHROMIUM_PATH) and not shutil.which("chromium"):
            _missing("needs Debian's chromium (apt-get install chromium)")
    for marker in item.iter_markers("tool"):
        for name in marker.args:
            if not testing.find_tool(name):
                _missing(f"needs the program {name} (.ci/run installs it: see docs/setup.md)")


@pytest.fixture
def organizer(db):
    return testing.make_organizer()


@pytest.fixture
def facilitator(db):
    return testing.make_facilitator()


@pytest.fixture
def outsider(db):
    return testing.make_user("oscar")


@pytest.fixture
def smtp_server():
    server = testing.SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls tests make
    # between page actions are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=testing.CHROMIUM_PATH, args=testing.CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(timezone_id="UTC")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
