from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mmooc.mailer.tests.viewer_helpers import sent_in_outbox
from mmooc.testing import make_organizer


@pytest.mark.browser
@pytest.mark.usefixtures("sync_queries")
def test_staff_read_a_copy_as_a_mail_client_shows_it(transactional_db, live_server, client, page, settings):
    msg = sent_in_outbox(settings)
    client.force_login(make_organizer())
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.goto(f"{live_server.url}/outbox/")
    page.get_by_role("link", name="Welcome, ‹name›").click()
    page.get_by_role("link", name="l1@example.org").click()

    frame = page.frame_locator("iframe.mail-html")
    expect(frame.get_by_role("link", name="confirm")).to_have_attribute(
        "href", "https://course.example.org/confirm/tok1")
    text = page.locator("#text-part").inner_text()
    assert re.search(r"confirm\s+\((https://\S+/confirm/tok1)\)", text)
    expect(page.locator("table.mail-headers")).to_contain_text("List-Unsubscribe-Post")
    assert msg.deliveries.get(recipient="l1@example.org").header_message_id().strip("<>") in page.content()
