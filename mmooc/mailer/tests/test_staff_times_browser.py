"""Staff pages write instants in UTC and, after them, in the reader's own zone (the browser's)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mmooc.mailer import outbox
from mmooc.mailer.models import Message
from mmooc.testing import make_organizer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("zone, local", [("America/Los_Angeles", "Mon, 15 Mar 2027, 02:00 GMT-7"),
                                         ("Pacific/Chatham", "Mon, 15 Mar 2027, 22:45 GMT+13:45"),
                                         ("Asia/Kolkata", "Mon, 15 Mar 2027, 14:30 GMT+5:30")])
def test_the_outbox_shows_utc_then_the_readers_own_time(live_server, browser, client, time_machine, zone, local):
    time_machine.move_to("2027-03-15 09:00Z", tick=False)
    outbox.send(to="ann@example.org", subject="Hello", body="Hi", kind=Message.TRANSACTIONAL, tag="test")
    client.force_login(make_organizer())
    context = browser.new_context(timezone_id=zone)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/outbox/")
        cell = page.locator("td", has=page.locator("time.staff-time")).first
        expect(cell).to_contain_text("2027-03-15 09:00 UTC")
        expect(cell.locator(".reader-time")).to_contain_text(local)
    finally:
        context.close()


def test_a_reader_in_utc_sees_the_time_once(live_server, browser, client, time_machine):
    time_machine.move_to("2027-03-15 09:00Z", tick=False)
    outbox.send(to="ann@example.org", subject="Hello", body="Hi", kind=Message.TRANSACTIONAL, tag="test")
    client.force_login(make_organizer())
    context = browser.new_context(timezone_id="UTC")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/outbox/")
        expect(page.locator("time.staff-time").first).to_have_text("2027-03-15 09:00 UTC")
        expect(page.locator(".reader-time")).to_have_count(0)
    finally:
        context.close()
