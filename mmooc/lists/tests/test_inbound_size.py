"""Big group posts through a provider's inbound webhook: read up to the largest post held and
a little past it, so a post over the limit is held for staff and its sender told it waits, a
post over the ceiling is refused with a notice to its sender, each with a 2xx to the provider;
a body no provider would send is refused with 413 before it is read."""

from __future__ import annotations

import base64
import json
import os

import pytest
from django.conf import settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from mmooc.lists import relay
from mmooc.lists.models import Post, Refusal
from mmooc.lists.tests.test_receivers import AUTH, mailgun_payload, postmark_payload
from mmooc.mailer.models import Delivery, Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anymail_settings")]
MB = 1000 * 1000
MAILGUN, POSTMARK = "/anymail/mailgun/inbound_mime/", "/anymail/postmark/inbound/"


def big_post(size: int, *, to: str, message_id: str) -> bytes:
    """A post with a photo attached, about `size` bytes in all, as a mail client sends it."""
    encoded = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        f"From: Alice Smith <alice@example.org>\r\nTo: {to}\r\nSubject: Photos of the whiteboard\r\n"
        f"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        '--outer\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\nThe board after Tuesday\'s session.\r\n'
        '--outer\r\nContent-Type: image/jpeg; name="board.jpg"\r\n'
        'Content-Disposition: attachment; filename="board.jpg"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    ).encode() + encoded + b"--outer--\r\n"


def mailgun_body(raw: bytes, group) -> bytes:
    return encode_multipart(BOUNDARY, mailgun_payload(raw, recipient=group.address, sender="alice@example.org"))


def post_mailgun(client, body: bytes, **extra):
    return client.generic("POST", MAILGUN, body, content_type=MULTIPART_CONTENT, **AUTH, **extra)


def post_postmark(client, raw: bytes, group):
    payload = postmark_payload(raw, recipient=group.address, sender="alice@example.org")
    # Postmark sends the attachment again, base64-encoded, beside the raw message.
    payload["Attachments"] = [{"Name": "board.jpg", "ContentType": "image/jpeg", "ContentLength": len(raw),
                               "Content": base64.b64encode(raw[-len(raw) // 2:]).decode()}]
    return client.post(POSTMARK, json.dumps(payload), content_type="application/json", **AUTH)


def nothing_changed() -> bool:
    return not (Post.objects.exists() or Refusal.objects.exists() or Message.objects.exists())


def assert_relayed(message_id: str) -> None:
    post = Post.objects.get()
    assert post.message_id == message_id
    assert sorted(post.outbox_message.deliveries.values_list("recipient", flat=True)) == [
        "bob@example.org", "carol@example.org"]
    assert not Refusal.objects.exists()


def assert_held_with_a_notice(raw: bytes) -> None:
    post = Post.objects.get()
    assert (post.held, post.held_reason, post.size, bytes(post.raw)) == (True, relay.TOO_BIG, len(raw), raw)
    notice = Message.objects.get(tag="list-notice")
    delivery = notice.deliveries.get()
    assert delivery.recipient == "alice@example.org" and delivery.context["limit"] == "10 MB"
    assert not Refusal.objects.exists() and not Delivery.objects.filter(message__tag="relay").exists()


def assert_refused_with_a_notice() -> None:
    refusal = Refusal.objects.get()
    assert (refusal.reason, refusal.notified, refusal.sender) == (Refusal.TOO_BIG, True, "alice@example.org")
    assert refusal.size > settings.LIST_MAX_POST_BYTES
    notice = Message.objects.get(tag="list-notice")
    assert notice.deliveries.get().recipient == "alice@example.org"
    assert "10 MB" in notice.body and not Post.objects.exists()
    assert not Delivery.objects.filter(message__tag="relay").exists()


def test_a_7_mb_post_by_mailgun_is_relayed(client, group):
    raw = big_post(7 * MB, to=group.address, message_id="<big-7@mail.example.org>")
    body = mailgun_body(raw, group)
    assert len(body) > 7 * MB
    assert post_mailgun(client, body).status_code == 200
    assert_relayed("<big-7@mail.example.org>")
    assert bytes(Post.objects.get().raw) == raw


def test_a_12_mb_post_by_mailgun_is_held_and_its_sender_told(client, group):
    raw = big_post(12 * MB, to=group.address, message_id="<big-12@mail.example.org>")
    assert post_mailgun(client, mailgun_body(raw, group)).status_code == 200
    assert_held_with_a_notice(raw)


def test_a_12_mb_post_over_the_ceiling_by_mailgun_is_answered_200_and_its_sender_told(client, group, monkeypatch):
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 11 * MB)
    raw = big_post(12 * MB, to=group.address, message_id="<big-12@mail.example.org>")
    assert post_mailgun(client, mailgun_body(raw, group)).status_code == 200
    assert_refused_with_a_notice()


def test_a_7_mb_post_by_postmark_is_relayed(client, group):
    raw = big_post(7 * MB, to=group.address, message_id="<pm-big-7@mail.example.org>")
    assert post_postmark(client, raw, group).status_code == 200
    assert_relayed("<pm-big-7@mail.example.org>")


def test_a_12_mb_post_by_postmark_is_held_and_its_sender_told(client, group):
    raw = big_post(12 * MB, to=group.address, message_id="<pm-big-12@mail.example.org>")
    assert post_postmark(client, raw, group).status_code == 200
    assert_held_with_a_notice(raw)


def test_a_12_mb_post_over_the_ceiling_by_postmark_is_answered_200_and_its_sender_told(client, group, monkeypatch):
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 11 * MB)
    raw = big_post(12 * MB, to=group.address, message_id="<pm-big-12@mail.example.org>")
    assert post_postmark(client, raw, group).status_code == 200
    assert_refused_with_a_notice()


def test_the_webhooks_take_a_post_as_big_as_the_ceiling_three_times_over():
    assert settings.INBOUND_WEBHOOK_MAX_BYTES == 3 * settings.LIST_MAX_HELD_POST_BYTES


def test_a_claimed_body_over_the_webhook_limit_is_refused_unread(client, group, caplog):
    body = mailgun_body(big_post(1000, to=group.address, message_id="<small@mail.example.org>"), group)
    claimed = settings.INBOUND_WEBHOOK_MAX_BYTES + 1
    response = post_mailgun(client, body, CONTENT_LENGTH=str(claimed))
    assert response.status_code == 413
    assert b"Request body too large" in response.content
    assert f"refused a request body of {claimed} bytes" in caplog.text
    assert nothing_changed()


def test_a_real_body_above_the_webhook_limit_is_refused_unread(client, group, settings):
    settings.INBOUND_WEBHOOK_MAX_BYTES = 20 * MB  # the rule, without building a 120 MB body
    raw = big_post(settings.INBOUND_WEBHOOK_MAX_BYTES, to=group.address, message_id="<huge@mail.example.org>")
    assert post_mailgun(client, mailgun_body(raw, group)).status_code == 413
    assert nothing_changed()


def test_pages_other_than_inbound_webhooks_keep_the_5_mib_limit(client, group):
    body = encode_multipart(BOUNDARY, {"email": "a@example.org", "notes": "x" * (6 * 1024 * 1024)})
    for path in ("/anymail/mailgun/tracking/", "/dashboard/login/", "/py-3/"):
        response = client.generic("POST", path, body, content_type=MULTIPART_CONTENT, **AUTH)
        assert response.status_code == 413, path
    assert nothing_changed()


@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_a_truncated_webhook_body_relays_nothing(client, group, cut):
    raw = big_post(7 * MB, to=group.address, message_id="<cut@mail.example.org>")
    body = mailgun_body(raw, group)
    client.raise_request_exception = False
    response = post_mailgun(client, body[:int(len(body) * cut)])
    assert response.status_code == 400
    assert nothing_changed()


def test_a_post_cut_off_inside_the_raw_message_is_not_relayed(client, group):
    raw = big_post(7 * MB, to=group.address, message_id="<cut-mime@mail.example.org>")
    assert post_mailgun(client, mailgun_body(raw[:len(raw) // 2], group)).status_code == 200
    refusal = Refusal.objects.get()
    assert (refusal.reason, refusal.notified) == (Refusal.DEFECTIVE, True)
    assert "close boundary not found" in refusal.detail
    assert not Post.objects.exists()
    assert not Delivery.objects.filter(message__tag="relay").exists()
