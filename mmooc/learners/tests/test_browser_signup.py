"""The whole journey in a real browser set to India's time zone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import deliveries, link_in, path_of, received_text
from mmooc.testing import make_cohort

# Playwright's sync API runs an event loop in the test's thread; the ORM calls made there are
# ordinary blocking calls, which Django refuses in such a thread unless told.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_signs_up_confirms_and_sees_dates_in_their_time_zone(live_server, settings, kolkata):
    settings.BASE_URL = live_server.url
    settings.LEARNER_SIGNUP_MIN_SECONDS = 0  # the browser is driven faster than a person types
    start = (timezone.now() + timedelta(days=10)).date()
    cohort = make_cohort(start=start, tz="UTC")
    page = kolkata

    page.goto(f"{live_server.url}/{cohort.course.slug}/")
    page.wait_for_function("() => document.getElementById('tz-detected').textContent === 'Asia/Kolkata'")
    assert page.input_value("#id_timezone") == "Asia/Kolkata"
    page.fill("#id_email", "priya@example.org")
    page.fill("#id_name", "Priya Raman")
    page.click("button[type=submit]")
    page.get_by_text("open the link in it to confirm").wait_for()
    learner = Learner.objects.get(email="priya@example.org")
    assert (learner.state, learner.timezone, learner.country) == ("pending", "Asia/Kolkata", "IN")

    confirm = link_in(received_text("priya@example.org", "confirmation"), "c")
    page.goto(live_server.url + path_of(confirm))
    button = page.get_by_role("button", name="Confirm my place")
    button.wait_for()
    learner.refresh_from_db()
    assert learner.state == Learner.PENDING  # opening the link changes nothing
    assert not deliveries("priya@example.org", "welcome").exists()
    button.click()
    page.get_by_text("What happens next").wait_for()
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED

    welcome = received_text("priya@example.org", "welcome")
    assert "Priya" in welcome or cohort.course.title in welcome
    assert deliveries("priya@example.org", "welcome").count() == 1

    page.click("text=Open my page")
    page.locator(".schedule").wait_for()
    week2 = start + timedelta(days=7)
    # Course day 7 is the start date plus seven days on the learner's own calendar.
    expected = f"{week2:%A} {week2.day} {week2:%B %Y}"
    assert expected in page.locator(".schedule").inner_text()
    assert "Asia/Kolkata" in page.locator(".learner-zone").inner_text()


def test_an_old_confirmation_link_asks_someone_who_left_before_joining_again(live_server, settings, kolkata):
    settings.BASE_URL = live_server.url
    settings.LEARNER_SIGNUP_MIN_SECONDS = 0  # the browser is driven faster than a person types
    cohort = make_cohort()
    page = kolkata
    page.goto(f"{live_server.url}/{cohort.course.slug}/")
    page.fill("#id_email", "ada@example.org")
    page.click("button[type=submit]")
    page.get_by_text("open the link in it to confirm").wait_for()
    confirm = live_server.url + path_of(link_in(received_text("ada@example.org", "confirmation"), "c"))
    page.goto(confirm)
    page.get_by_role("button", name="Confirm my place").click()
    page.click("text=Open my page")
    page.get_by_role("button", name="Leave the cohort").click()
    page.get_by_text("You have left").wait_for()

    page.goto(confirm)
    page.get_by_text("You left this cohort on").wait_for()
    learner = Learner.objects.get(email="ada@example.org")
    assert learner.state == Learner.LEFT
    page.get_by_role("button", name="Join again").click()
    page.get_by_text("What happens next").wait_for()
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED
