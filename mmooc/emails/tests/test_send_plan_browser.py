"""The send plan of a draft loads into its page after the page."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mmooc.emails.models import CourseEmail
from mmooc.testing import make_cohort, make_course, make_learner, make_organizer


@pytest.mark.browser
@pytest.mark.usefixtures("sync_queries")
def test_the_plan_of_a_draft_appears_on_its_page(transactional_db, live_server, client, page):
    cohort = make_cohort(make_course(modules=2), slug="py-1", start=timezone.now().date() + timedelta(days=10))
    for zone in ["Europe/Berlin", "America/Lima", "Asia/Tokyo"]:
        make_learner(cohort, timezone=zone)
    email = CourseEmail.objects.create(cohort=cohort, subject="Week 2", body="Hi", schedule=CourseEmail.LOCAL,
                                       day_offset=7, local_time=time(9), audience={"kind": "all"})
    client.force_login(make_organizer())
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}/dashboard/cohorts/py-1/emails/{email.public_id}/")
    expect(page.locator("#plan-counts")).to_have_text("3 recipients, 3 copies.")
    expect(page.locator("#plan-regions tbody tr")).to_have_count(3)
    expect(page.locator("#plan-limits")).to_contain_text("Rate: no rate limit.")
