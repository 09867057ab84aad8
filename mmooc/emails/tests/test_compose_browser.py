from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mmooc.emails.models import CourseEmail
from mmooc.lib.timezones import local_datetime
from mmooc.testing import make_cohort, make_course, make_learner, make_organizer

ZONES = ["Pacific/Honolulu", "Asia/Kolkata", "Pacific/Tongatapu"]


def _sign_in(page, client, live_server, user) -> None:
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])


@pytest.mark.browser
@pytest.mark.usefixtures("sync_queries")
def test_it_composes_previews_and_schedules_for_local_time(transactional_db, live_server, client, page):
    cohort = make_cohort(make_course(modules=2), slug="py-1", start=timezone.now().date() + timedelta(days=20))
    for zone in ZONES:
        make_learner(cohort, timezone=zone)
    _sign_in(page, client, live_server, make_organizer())

    page.goto(f"{live_server.url}/dashboard/cohorts/py-1/emails/new")
    page.fill("#id_subject", "This week: {{ module.title }}")
    page.select_option("#id_module", "2")
    page.fill("#id_body", "Hello {{ learner.first_name }}, today: **{{ module.title }}**")
    expect(page.locator("#preview-subject")).to_have_text("This week: Week 2")
    expect(page.locator("#preview-body")).to_contain_text("Hello Ada, today: Week 2")
    expect(page.locator("#count")).to_have_text("3")

    page.fill("#id_body", "Hello {{ learner.nickname }}")
    expect(page.locator("#problems")).to_contain_text("line 1: unknown variable learner.nickname")
    page.fill("#id_body", "Hello {{ learner.first_name }}, see you in week {{ module.position }}.")
    expect(page.locator("#preview-body")).to_contain_text("see you in week 2.")

    page.check("input[name=schedule][value=local]")
    page.fill("#id_day", "7")
    page.fill("#id_time", "09:00")
    expect(page.locator("#timing")).to_contain_text("in each learner's zone")
    page.click("#schedule-button")

    expect(page.locator("#state")).to_have_text("Scheduled")
    expect(page.locator("#count")).to_have_text("3")
    email = CourseEmail.objects.get()
    day = cohort.start_date + timedelta(days=7)
    expected = {local_datetime(day, time(9), z).astimezone(UTC) for z in ZONES}
    assert set(email.message.deliveries.values_list("not_before", flat=True)) == expected
    assert all(isinstance(t, datetime) for t in expected)
