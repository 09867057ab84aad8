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
        page.wait_for_function("() => !document.querySelector('time.local').textContent.includes('UTC')")
        hero = page.locator(".landing-hero").inner_text()
        assert f"Starts {clock.day(start)}, ends {clock.day(cohort.end_date)}." in hero
        week2 = page.locator(".modules li").nth(1).inner_text()
        assert f"from {clock.day(start + timedelta(days=7))}" in week2
        closes = clock.in_zone(cohort.signup_closes, zone)
        assert f"{closes:%H:%M}" in page.locator("time.local").first.inner_text()
    finally:
        context.close()


def test_the_personal_page_on_a_phone_is_stacked_week_cards_this_week_first(live_server, browser, settings,
                                                                           time_machine):
    from datetime import date

    from mmooc.learners import links
    from mmooc.learners.tests.helpers import path_of
    from mmooc.testing import make_learner

    settings.BASE_URL = live_server.url
    cohort = make_cohort(start=date(2030, 3, 4), tz="UTC")
    learner = make_learner(cohort, timezone="America/Los_Angeles")
    time_machine.move_to("2030-03-14 20:00Z")  # Thursday of week 2 in Los Angeles
    context = browser.new_context(viewport={"width": 320, "height": 700}, timezone_id="America/Los_Angeles")
    try:
        page = context.new_page()
        page.goto(live_server.url + path_of(links.learner_page_url(learner)))
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        assert "We are in week 2" in page.locator(".stage").inner_text()
        cards = page.locator(".week")
        tops = [cards.nth(i).bounding_box()["y"] for i in range(cards.count())]
        current = page.locator(".week.current")
        assert "Week 2" in current.inner_text() and current.bounding_box()["y"] == min(tops)
        widths = {round(cards.nth(i).bounding_box()["width"]) for i in range(cards.count())}
        assert len(widths) == 1  # one column of cards, each the page's width
    finally:
        context.close()
