"""The pages with behaviour still work in chromium under the Content-Security-Policy, and the
browser reports no violation of it (a refused inline script or style shows in the console)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mmooc.learners.links import learner_page_url
from mmooc.mailer.tests.viewer_helpers import sent_in_outbox
from mmooc.testing import make_learner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.cohort_data(n=40, groups=2),
              pytest.mark.usefixtures("sync_queries")]


def watch(page) -> list[str]:
    """Console lines about the policy and script errors on the page, as they come."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: seen.append(f"error: {e}"))
    return seen


def open_page(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, url
    assert "script-src 'self'" in response.headers["content-security-policy"], url


def sign_in(page, client, live_server, user) -> None:
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


def test_the_signup_pages_fill_in_the_time_zone_and_show_local_times(live_server, kolkata, data):
    seen = watch(kolkata)
    course, cohort = data.cohort.course.slug, data.cohort.slug
    for path in [f"/{course}/", f"/{course}/{cohort}/embed"]:
        open_page(kolkata, live_server.url + path)
        kolkata.wait_for_function("() => document.getElementById('tz-detected').textContent === 'Asia/Kolkata'")
        assert kolkata.input_value("#id_timezone") == "Asia/Kolkata"
    open_page(kolkata, live_server.url + "/" + learner_page_url(make_learner(data.cohort)).split("/", 3)[3])
    assert seen == []


def test_the_staff_pages_with_scripts_work(live_server, client, page, organizer, data, settings):
    seen = watch(page)
    sign_in(page, client, live_server, organizer)
    slug = data.cohort.slug

    open_page(page, f"{live_server.url}/dashboard/cohorts/{slug}/emails/new")
    page.fill("#id_subject", "Hello")
    page.fill("#id_body", "Hello {{ learner.first_name }}, welcome.")
    expect(page.locator("#preview-body")).to_contain_text("welcome.")  # compose.js fetched the preview

    with page.expect_response(lambda r: r.url.endswith("/progress.json")):  # progress.js polls
        open_page(page, f"{live_server.url}/dashboard/emails/{data.email.public_id}/")

    for path in [f"/dashboard/cohorts/{slug}/", f"/dashboard/cohorts/{slug}/groups/",
                 f"/dashboard/cohorts/{slug}/grouping/", "/dashboard/suppressions/", "/admin/login/"]:
        open_page(page, live_server.url + path)

    msg = sent_in_outbox(settings)
    open_page(page, f"{live_server.url}/outbox/{msg.public_id}/{msg.deliveries.order_by('id')[0].pk}/")
    expect(page.frame_locator("iframe.mail-html").get_by_role("link", name="confirm")).to_be_visible()
    assert seen == []


def test_an_inline_script_would_be_refused_and_reported(live_server, page, data):
    """The check above can see a violation: a script added to the page is refused and reported."""
    seen = watch(page)
    open_page(page, f"{live_server.url}/{data.cohort.course.slug}/")
    page.evaluate("""() => { const s = document.createElement('script');
                              s.textContent = 'document.body.dataset.ran = 1'; document.body.append(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("document.body.dataset.ran") is None
    assert any("Content Security Policy" in line for line in seen)
