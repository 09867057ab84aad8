""""This is also me" in chromium on a phone: the notice's page, the code, the held post sent."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from playwright.sync_api import expect

from mmooc.learners.tests.helpers import path_of
from mmooc.lists import relay
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery, Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("outbox_mode")]


def mail_text(tag: str) -> str:
    engine.drain()
    stored = bytes(Message.objects.get(tag=tag).deliveries.get().stored)
    return message_from_bytes(stored, policy=policy.default).get_body(("plain",)).get_content()


def test_a_member_claims_their_other_address_with_the_code_on_a_phone(live_server, browser, settings, group):
    settings.BASE_URL = live_server.url
    relay.receive(raw_post(sender="alice.home@example.net", to=group.address, subject="Tuesday?"),
                  "alice.home@example.net", [group.address])
    claim = re.search(r"https?://\S*/groups/also-me/[^\s)>\]]+", mail_text("list-notice")).group(0)
    context = browser.new_context(viewport={"width": 390, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + path_of(claim))
        assert "Is alice.home@example.net also you?" in page.locator("h1").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.fill("#id_email", "alice@example.org")
        page.click("button[type=submit]")
        expect(page.locator(".sent")).to_contain_text("If alice@example.org belongs to a member of Group 1")
        code = re.search(r"\b(\d{6})\b", mail_text("alias-code")).group(1)
        page.fill("#id_code", code)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("is also you")  # waits for the answer page
        expect(page.locator(".done")).to_contain_text("Your waiting message has been sent to the group.")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
    assert not Post.objects.get().held
    engine.drain()
    assert sorted(Delivery.objects.filter(message__tag="relay").values_list("recipient", flat=True)) == [
        "bob@example.org", "carol@example.org"]
