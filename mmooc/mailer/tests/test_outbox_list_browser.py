"""The outbox list in headless chromium at 1280 px: every column shows without scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mmooc.mailer import outbox
from mmooc.mailer.models import Message
from mmooc.mailer.outbox import Recipient
from mmooc.testing import make_organizer


@pytest.fixture(autouse=True)
def stylesheet(settings):
    settings.STATICFILES_DIRS = [settings.BASE_DIR / "static"]


@pytest.mark.browser
@pytest.mark.usefixtures("sync_queries")
def test_the_outbox_fits_1280_pixels_and_finds_a_recipient(transactional_db, live_server, client, page):
    for i in range(3):
        msg = outbox.compose(kind=Message.TRANSACTIONAL, tag="confirmation",
                             subject="Please confirm your place in {{ course_title }}", body="Hi")
        outbox.enqueue(msg, [Recipient(f"learner{i}-{n}@example.org", {"course_title": "A Gentle Introduction"})
                             for n in range(5)])
    client.force_login(make_organizer())
    page.set_viewport_size({"width": 1280, "height": 800})
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}/outbox/")
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.locator("tbody tr").count() == 3
    page.fill("input[name=q]", "learner1-")
    page.click("text=Search")
    expect(page.locator("tbody tr")).to_have_count(1)  # waits for the search's page
    expect(page.locator("tbody")).to_contain_text("Please confirm your place in A Gentle Introduction")
