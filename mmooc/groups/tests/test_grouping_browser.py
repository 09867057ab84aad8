"""The grouping page in headless chromium: preview, change the size, apply."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mmooc.groups.models import StudyGroup
from mmooc.testing import make_learner

# Playwright's sync API runs an event loop in the test's thread; Django allows the ORM calls
# the test makes there only when told.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True),
              pytest.mark.cohort(course={"group_size": 10})]
ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "America/Los_Angeles"]


@pytest.fixture(autouse=True)
def stylesheet(settings):
    settings.STATICFILES_DIRS = [settings.BASE_DIR / "static"]


@pytest.fixture(autouse=True)
def learners(cohort):
    """Sixty learners over five time zones."""
    return [make_learner(cohort, timezone=ZONES[i % len(ZONES)]) for i in range(60)]


def test_it_previews_changes_the_size_and_applies(page, live_server, organizer, cohort):
    page.goto(f"{live_server.url}/dashboard/login/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "correct horse 42")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/dashboard/cohorts/py-3/grouping/")
    assert page.locator(".grouping-chart svg .rect").count() > 0
    assert page.locator("tbody tr").count() == 6
    page.fill("#id_size", "20")
    page.click("text=Preview again")
    expect(page.locator("section.card tbody tr")).to_have_count(3)  # waits for the new page
    page.check("input[name=confirm]")
    page.click("text=Apply grouping")
    page.wait_for_selector("text=3 groups formed for 60 learners")
    assert StudyGroup.objects.filter(cohort=cohort).count() == 3


def test_apply_without_the_box_keeps_the_preview_and_says_what_is_missing(page, live_server, organizer, cohort):
    page.goto(f"{live_server.url}/dashboard/login/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "correct horse 42")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/dashboard/cohorts/py-3/grouping/")
    page.fill("#id_size", "20")
    page.click("text=Preview again")
    expect(page.locator("section.card tbody tr")).to_have_count(3)  # the size-20 preview is loaded
    page.click("text=Apply grouping")  # the box left unticked
    expect(page.locator("#confirm-missing")).to_contain_text("Tick the box to confirm.")
    expect(page.locator("section.card tbody tr")).to_have_count(3)  # the same preview, size 20 kept
    assert StudyGroup.objects.filter(cohort=cohort).count() == 0
    page.check("input[name=confirm]")
    page.click("text=Apply grouping")
    page.wait_for_selector("text=3 groups formed for 60 learners")
    assert StudyGroup.objects.filter(cohort=cohort).count() == 3
