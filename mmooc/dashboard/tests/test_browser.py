"""The dashboard in headless chromium: sign-in, every page, charts, a live send, the roles."""

from __future__ import annotations

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, outbox
from mmooc.testing import facilitate

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# in that thread are ordinary blocking calls, which Django refuses there unless told.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse 42"


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/dashboard/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")


def data_points(page, selector):
    """How many bars or dots the chart draws."""
    return page.locator(f"{selector} svg .rect, {selector} svg .dot").count()


def test_it_shows_every_page_to_an_organizer(page, live_server, organizer, data):
    sign_in(page, live_server, "olivia")
    assert page.locator(f"a[href='/dashboard/cohorts/{data.cohort.slug}/']").count() == 1
    page.goto(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/")
    for chart in ("#signups", "#offsets", "#languages", "#optouts"):
        assert data_points(page, chart) > 0, chart
    assert page.locator("script[src^='http']").count() == 0
    page.goto(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/groups/?quiet=1")
    assert page.locator("tr[data-group]").count() == 6
    assert page.locator("td.spark svg path.line").count() == 6
    page.goto(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/groups/1/")
    assert page.locator("tr[data-membership]").count() > 0
    page.goto(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/cost/")
    assert page.locator("[data-cost=total]").count() == 2
    page.goto(f"{live_server.url}/dashboard/courses/{data.cohort.course.slug}/cost/")
    assert page.locator("[data-cost=total]").count() == 1
    page.goto(f"{live_server.url}/dashboard/emails/{data.email.public_id}/")
    assert page.locator("[data-action=cancel]").count() == 1
    assert page.locator("[data-funnel=delivered]").inner_text() != "0"
    page.goto(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/export/")
    with page.expect_download() as download:
        page.click("text=learners.csv")
    assert download.value.suggested_filename.endswith("learners.csv")
    page.goto(f"{live_server.url}/dashboard/audit/")
    assert page.locator("text=export.downloaded").count() >= 1


def test_it_lets_a_facilitator_read_but_not_send_or_export(page, live_server, facilitator, data):
    facilitate(facilitator, data.groups[0])
    sign_in(page, live_server, "fabian")
    page.goto(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/")
    assert data_points(page, "#signups") > 0
    assert page.locator("a[href*='/export/']").count() == 0
    page.goto(f"{live_server.url}/dashboard/emails/{data.email.public_id}/")
    assert page.locator("[data-action]").count() == 0
    page.goto(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/groups/1/")
    assert page.locator("summary:has-text('Moderate')").count() > 0
    assert page.locator("a[href$='.mbox']").count() == 0
    for path in ["export/", "export/learners.csv", "export/cohort.zip", "export/group-1.mbox"]:
        response = page.request.get(f"{live_server.url}/dashboard/cohorts/{data.cohort.slug}/{path}")
        assert response.status == 403, path
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    response = page.request.post(f"{live_server.url}/dashboard/emails/{data.email.public_id}/cancel/",
                                 headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/"})
    assert response.status == 403
    assert page.request.get(f"{live_server.url}/dashboard/audit/").status == 403


def test_it_shows_progress_advancing_during_a_real_send(page, live_server, organizer, smtp_server, settings,
                                                        db):
    settings.EMAIL_CONFIG = parse_email_url(smtp_server.url)
    email = _email_with_queued_copies(100)
    sign_in(page, live_server, "olivia")
    page.goto(f"{live_server.url}/dashboard/emails/{email.public_id}/")
    bar = page.locator(".progress")
    assert float(bar.get_attribute("aria-valuenow")) == 0
    page.evaluate("""() => { window.seen = [];
        new MutationObserver(() => window.seen.push(
            parseFloat(document.querySelector('.progress').getAttribute('aria-valuenow')))
        ).observe(document.querySelector('.progress'), {attributes: true}); }""")
    # The send in two parts, the page polling on its own between them: a loaded machine may
    # be slow to answer a poll, so no clock decides what the page has seen.
    sender = engine.Engine(use_lock=False, batch_size=40)
    assert sender.step().processed == 40
    # functions, not expression strings: the page's policy forbids evaluating strings
    page.wait_for_function(
        "() => parseFloat(document.querySelector('.progress').getAttribute('aria-valuenow')) === 40",
        timeout=60_000)
    while sender.step().processed:
        pass
    sender.stop()
    page.wait_for_function(
        "() => parseFloat(document.querySelector('.progress').getAttribute('aria-valuenow')) === 100",
        timeout=60_000)
    seen = page.evaluate("window.seen")
    assert 40 in seen and seen[-1] == 100, seen
    assert page.locator("[data-count=sent]").inner_text() == "100"
    assert len(smtp_server.received) == 100
    assert page.url.endswith(f"/dashboard/emails/{email.public_id}/")  # never reloaded


def _email_with_queued_copies(n):
    from mmooc import testing

    cohort = testing.make_cohort()
    message = outbox.compose(kind="transactional", subject="Week 1", body="Hello {{ name }}",
                             scope=cohort.scope, tag="course-email")
    outbox.enqueue(message, [outbox.Recipient(f"learner{i}@example.org", {"name": f"L{i}"})
                             for i in range(n)])
    return CourseEmail.objects.create(cohort=cohort, subject="Week 1", body="Hello", audience={"kind": "all"},
                                      state=CourseEmail.SENDING, message=message)


def test_it_is_readable_on_a_phone(page, live_server, organizer, data):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "olivia")
    for path in [f"/dashboard/cohorts/{data.cohort.slug}/", f"/dashboard/emails/{data.email.public_id}/",
                 f"/dashboard/cohorts/{data.cohort.slug}/groups/"]:
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
