"""The landing page seen from Los Angeles, Kolkata and Chatham: the start is a calendar date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc.lib import clock
from mmooc.testing import make_cohort

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("zone", "reported"), [("America/Los_Angeles", "America/Los_Angeles"),
                                                ("Asia/Kolkata", "Asia/Calcutta"),
                                                ("Pacific/Chatham", "Pacific/Chatham")])
def test_a_visitor_anywhere_reads_the_start_date_itself(live_server, browser, zone, reported):
    start = (timezone.now() + timedelta(days=10)).date()
    cohort = make_cohort(start=start, tz="UTC")
    context = browser.new_context(timezone_id=zone)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/{cohort.course.slug}/")
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == reported
        # The script has run once the signup deadline shows in the visitor's zone.
        page.wait_for_function("!document.querySelector('time.local').textContent.includes('UTC')")
        hero = page.locator(".landing-hero").inner_text()
        assert f"Starts {clock.day(start)}, ends {clock.day(cohort.end_date)}." in hero
        week2 = page.locator(".modules li").nth(1).inner_text()
        assert f"from {clock.day(start + timedelta(days=7))}" in week2
        closes = clock.in_zone(cohort.signup_closes, zone)
        assert f"{closes:%H:%M}" in page.locator("time.local").first.inner_text()
    finally:
        context.close()
