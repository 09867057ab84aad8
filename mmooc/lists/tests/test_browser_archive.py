"""A member reads their group's archive on a phone: threads, a thread, search; nothing wider
than the screen, times in the member's zone."""

from __future__ import annotations

import pytest

from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import path_of
from mmooc.lists import relay
from mmooc.lists.links import archive_url
from mmooc.lists.tests.mail import raw_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("outbox_mode")]

LONG = "https://example.org/" + "a-very-long-path-without-spaces/" * 8


def post(group, sender, subject, body, message_id, reply_to=""):
    headers = {"In-Reply-To": reply_to, "References": reply_to} if reply_to else None
    relay.receive(raw_post(sender=sender, to=group.address, subject=subject, body=body, message_id=message_id,
                           headers=headers), sender, [group.address])


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/Los_Angeles"])
def test_the_archive_fits_a_phone_and_leads_from_threads_to_posts(live_server, browser, settings, group, zone):
    settings.BASE_URL = live_server.url
    post(group, "alice@example.org", "Week 1: stuck on the installation_and_a_" + "long" * 30,
         f"Python opens the Store. See {LONG}", "<a@x.org>")
    post(group, "bob@example.org", "Re: Week 1: stuck", "Tick “Add to PATH”.", "<b@x.org>", reply_to="<a@x.org>")
    post(group, "carol@example.org", "Meeting on Saturday?", "14:00 UTC works for me.", "<c@x.org>")
    bob = Learner.objects.get(email="bob@example.org")
    bob.timezone = zone
    bob.save(update_fields=["timezone"])
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + path_of(archive_url(group, bob)))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        rows = page.locator(".thread-row")
        assert rows.count() == 2
        assert "Meeting on Saturday?" in rows.nth(0).inner_text() and "1 reply" in rows.nth(1).inner_text()
        assert zone in page.locator("main").inner_text()
        rows.nth(1).locator("a").click()
        page.wait_for_selector(".thread")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator(".post").count() == 2
        assert "Tick “Add to PATH”." in page.locator(".post").nth(1).inner_text()
        reply = page.locator("a[href^='mailto:']", has_text="Reply by email").get_attribute("href")
        assert reply.startswith(f"mailto:{group.address}?subject=Re%3A%20Week%201")
        page.go_back()
        page.fill("#id_q", "the store")
        page.click(".archive-search button")
        page.wait_for_selector(".results")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator(".result").count() == 1
        page.locator(".result a").first.click()
        page.wait_for_selector(".thread")
        assert "#post-" in page.url and page.locator(".post").count() == 2
    finally:
        context.close()
