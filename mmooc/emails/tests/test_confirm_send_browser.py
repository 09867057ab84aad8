from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_course, make_learner, make_organizer

LEARNERS = 12


def _sign_in(page, client, live_server, user) -> None:
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


@pytest.mark.browser
@pytest.mark.usefixtures("sync_queries")
def test_it_asks_before_sending_a_past_email_and_cancels_inside_the_undo_window(
        transactional_db, live_server, client, page):
    cohort = make_cohort(make_course(modules=2), slug="py-1", start=timezone.now().date() - timedelta(days=10))
    for zone in ["Pacific/Honolulu", "Asia/Kolkata", "UTC"] * (LEARNERS // 3):
        make_learner(cohort, timezone=zone)
    _sign_in(page, client, live_server, make_organizer())

    page.goto(f"{live_server.url}/dashboard/cohorts/py-1/emails/new")
    page.fill("#id_subject", "Week 1")
    page.fill("#id_body", "Hello {{ learner.first_name }}")
    page.check("input[name=schedule][value=local]")
    page.fill("#id_day", "0")
    page.fill("#id_time", "09:00")
    page.click("#schedule-button")

    expect(page.locator("#confirm-question")).to_have_text(f"Send {LEARNERS} copies now?")
    expect(page.locator("#confirm-range")).to_contain_text("UTC")
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()

    page.click("#confirm-button")
    expect(page.locator("#undo")).to_contain_text("Sending starts at")
    email = CourseEmail.objects.get()
    assert email.message.deliveries.filter(status=Delivery.QUEUED).count() == LEARNERS

    page.click("#undo-cancel")
    expect(page.locator("#undo")).to_have_count(0)
    expect(page.locator("[data-count=cancelled]")).to_have_text(str(LEARNERS))
    email.refresh_from_db()
    assert email.state == CourseEmail.CANCELLED
    assert not Delivery.objects.exclude(status=Delivery.CANCELLED).exists()
