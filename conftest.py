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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cohort(**fields): the `cohort` fixture's make_cohort fields, "
                                       "course={...} its make_course fields")
    config.addinivalue_line("markers", "cohort_data(**fields): the `data` fixture's make_cohort_data fields")
    config.addinivalue_line("markers", "learner(**fields): the `learner` fixture's make_learner fields")
    config.addinivalue_line("markers", "min_group(n): the minimum group size in the groups app's tests")


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


@pytest.fixture(autouse=True)
def exact_mail_counts(settings):
    """Copies are counted at every look (MMOOC_MAIL_COUNTS_SECONDS=0): a test that sends and then
    reads progress sees it at once. mailer/tests/test_counts.py tests the kept counts."""
    settings.MAIL_COUNTS_SECONDS = 0


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
def cohort(request, db):
    """A published cohort open for signup; `pytest.mark.cohort(...)` shapes it, an app's conftest
    may give it the app's usual shape (testing.cohort_for)."""
    return testing.cohort_for(request.node)


@pytest.fixture
def data(request, db):
    """A generated cohort with learners, groups, a sent email and opt-outs (testing.cohort_data);
    `pytest.mark.cohort_data(n=…, groups=…)` sizes it."""
    from mmooc.testing.cohort_data import make_cohort_data

    return make_cohort_data(**testing.marked(request.node, "cohort_data"))


@pytest.fixture
def anymail_settings(settings):
    """Webhook secrets (two, as during a rotation) and Mailgun's signing key, as testing.webhook_cases has them."""
    from mmooc.testing.webhook_cases import ANYMAIL

    settings.ANYMAIL = ANYMAIL


@pytest.fixture
def outbox_mode(settings):
    """The delivery engine keeps what it sends in the outbox (MMOOC_EMAIL_URL=outbox:)."""
    from mmooc.lib.env import parse_email_url

    settings.EMAIL_CONFIG = parse_email_url("outbox:")


@pytest.fixture
def smtp_sink(settings, smtp_server):
    """The delivery engine sends, unthrottled, to smtp_server: a real SMTP server on 127.0.0.1."""
    from mmooc.lib.env import parse_email_url

    settings.EMAIL_CONFIG = parse_email_url(smtp_server.url)
    settings.MAIL_RATE_LIMIT = 0
    return smtp_server


@pytest.fixture
def webhook_receiver(settings):
    """A real HTTP server on 127.0.0.1 that outgoing webhooks are sent to (testing.webhook_receiver);
    private and loopback endpoints are allowed (MMOOC_WEBHOOKS_ALLOW_PRIVATE) while it runs."""
    from mmooc.testing.webhook_receiver import WebhookReceiver

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_TIMEOUT = 0.5
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def sync_queries():
    """Playwright's sync API keeps an event loop in the test's thread; the test's own queries (and
    the database set-up and flush around it) are safe. Module scope: set before, removed after them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


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


def _visitor(browser, zone: str, timeout: int, language: str = "", **options):
    if language:  # what the browser says it reads: navigator.language and Accept-Language
        options.update(locale=language, extra_http_headers={"Accept-Language": language})
    context = browser.new_context(timezone_id=zone, **options)
    pg = context.new_page()
    pg.set_default_timeout(timeout)
    yield pg
    context.close()


@pytest.fixture
def page(browser):
    yield from _visitor(browser, "UTC", 10_000)


@pytest.fixture
def spanish(browser):
    """A page for a visitor in Europe/Madrid whose browser asks for Spanish (Accept-Language: es).
    A long timeout: the first page in Spanish loads every app's Spanish catalogue."""
    yield from _visitor(browser, "Europe/Madrid", 30_000, language="es")


@pytest.fixture
def arabic_phone(browser):
    """A 390 px wide page for a visitor in Africa/Cairo whose browser asks for Arabic."""
    yield from _visitor(browser, "Africa/Cairo", 10_000, language="ar", viewport={"width": 390, "height": 844})


@pytest.fixture
def kolkata(browser):
    """A page for a visitor in Asia/Kolkata (chromium reports the zone as Asia/Calcutta)."""
    yield from _visitor(browser, "Asia/Kolkata", 15_000)
