"""The webhook door, with the inbound payloads the providers document, through anymail's views."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest

from mmooc.lists.models import Post, Refusal
from mmooc.lists.tests.door_cases import PostDoorCases
from mmooc.lists.tests.mail import multipart_post, raw_post
from mmooc.mailer.models import Message
from mmooc.testing.webhook_cases import MAILGUN_SIGNING_KEY as SIGNING_KEY
from mmooc.testing.webhook_cases import WebhookDoorCases, basic_auth, mailgun_signature

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anymail_settings")]
AUTH = basic_auth()


def mailgun_payload(raw: bytes, *, recipient: str, sender: str, spam: bool = False) -> dict[str, str]:
    """A Mailgun route's forward() to a URL ending in "mime" (Mailgun docs, "Receiving messages")."""
    timestamp, token = str(int(time.time())), "c3f9a1b2d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c"
    signature = hmac.new(SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    if spam:
        raw = b"X-Mailgun-Sflag: Yes\r\nX-Mailgun-Sscore: 9.1\r\n" + raw
    return {"recipient": recipient, "sender": sender, "from": f"Alice Smith <{sender}>",
            "subject": "Hello group", "body-mime": raw.decode("utf-8"), "timestamp": timestamp,
            "token": token, "signature": signature}


def ses_notification(raw: bytes, *, recipient: str, source: str, spam: str = "PASS") -> dict:
    """An SNS notification for an SES receipt rule's SNS action (SES docs, "Notification contents")."""
    ses_event = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-11-02T10:00:01.000Z", "source": source,
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1", "destination": [recipient],
            "headersTruncated": False,
            "headers": [{"name": "Return-Path", "value": f"<{source}>"}, {"name": "To", "value": recipient}],
            "commonHeaders": {"returnPath": source, "from": [f"Alice Smith <{source}>"], "to": [recipient],
                              "messageId": "<a@x>", "subject": "Hello group"},
        },
        "receipt": {
            "timestamp": "2026-11-02T10:00:01.000Z", "processingTimeMillis": 407, "recipients": [recipient],
            "spamVerdict": {"status": spam}, "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"}, "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {"type": "SNS", "topicArn": "arn:aws:sns:us-east-1:123456789012:inbound",
                       "encoding": "BASE64"},
        },
        "content": base64.b64encode(raw).decode("ascii"),
    }
    return {
        "Type": "Notification", "MessageId": "5b7e0a2c-1d6a-5c3e-9f22-3a1c4d5e6f70",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:inbound",
        "Subject": "Amazon SES Email Receipt Notification", "Message": json.dumps(ses_event),
        "Timestamp": "2026-11-02T10:00:01.624Z", "SignatureVersion": "1", "Signature": "EXAMPLEpH+..",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }


def postmark_payload(raw: bytes | None, *, recipient: str, sender: str, spam: str = "No") -> dict:
    """Postmark's inbound webhook JSON (Postmark docs, "Inbound webhook"), raw content included or not."""
    payload = {
        "FromName": "Alice Smith", "MessageStream": "inbound", "From": sender,
        "FromFull": {"Email": sender, "Name": "Alice Smith", "MailboxHash": ""},
        "To": recipient, "ToFull": [{"Email": recipient, "Name": "", "MailboxHash": ""}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": recipient,
        "Subject": "Hello group", "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "ReplyTo": "", "MailboxHash": "", "Date": "Mon, 2 Nov 2026 10:00:00 +0000",
        "TextBody": "Hi all, shall we meet on Tuesday?", "HtmlBody": "<p>Hi all, shall we meet on Tuesday?</p>",
        "StrippedTextReply": "", "Tag": "",
        "Headers": [{"Name": "Return-Path", "Value": f"<{sender}>"},
                    {"Name": "X-Spam-Status", "Value": spam}, {"Name": "X-Spam-Score", "Value": "-0.1"},
                    {"Name": "Message-ID", "Value": "<pm-1@mail.example.org>"}],
        "Attachments": [],
    }
    if raw is not None:
        payload["RawEmail"] = raw.decode("utf-8")
    return payload


def post_mailgun(client, payload):
    return client.post("/anymail/mailgun/inbound_mime/", payload, **AUTH)


def test_a_mailgun_raw_mime_post_is_relayed(client, group):
    raw = multipart_post(to=group.address, message_id="<mg-1@mail.example.org>")
    response = post_mailgun(client, mailgun_payload(raw, recipient=group.address, sender="alice@example.org"))
    assert response.status_code == 200
    post = Post.objects.get()
    assert (post.message_id, bytes(post.raw)) == ("<mg-1@mail.example.org>", raw)
    assert post.outbox_message.deliveries.count() == 2


def test_the_group_comes_from_the_envelope_recipient_not_the_to_header(client, group, cohort):
    from mmooc.testing import make_group

    other = make_group(cohort, 2, members=["alice2@example.org"])
    raw = raw_post(to=other.address)
    post_mailgun(client, mailgun_payload(raw, recipient=group.address, sender="alice@example.org"))
    assert Post.objects.get().group == group


def test_a_mailgun_spam_verdict_holds_the_post(client, group):
    raw = raw_post(to=group.address)
    post_mailgun(client, mailgun_payload(raw, recipient=group.address, sender="alice@example.org", spam=True))
    post = Post.objects.get()
    assert post.held and post.held_reason == "Mailgun judged it spam (score 9.1)"
    assert not Message.objects.filter(tag="relay").exists()


def test_a_bad_mailgun_signature_relays_nothing(client, group):
    payload = mailgun_payload(raw_post(to=group.address), recipient=group.address, sender="alice@example.org")
    payload["signature"] = "0" * 64
    assert post_mailgun(client, payload).status_code == 400
    assert not Post.objects.exists()



def test_an_unknown_group_by_webhook_is_logged_and_answered_200(client, group, caplog):
    payload = mailgun_payload(raw_post(), recipient="nobody@lists.course.example.org", sender="alice@example.org")
    assert post_mailgun(client, payload).status_code == 200
    assert "No such group address" in caplog.text
    assert not Post.objects.exists()


class TestMailgunPostDoor(PostDoorCases):
    taken = defective = no_message_id = too_big = 200  # a refusal is told to the sender, not to the provider
    try_again = 500  # Mailgun posts it again
    notices_refusals = True

    @pytest.fixture(autouse=True)
    def _client(self, client):
        client.raise_request_exception = False
        self.client = client

    def deliver(self, raw, sender, recipient):
        return post_mailgun(self.client, mailgun_payload(raw, recipient=recipient, sender=sender)).status_code


def test_an_oversized_post_from_another_list_by_webhook_gets_no_notice(client, group, monkeypatch):
    from mmooc.lists import relay

    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 4000)
    raw = raw_post(to=group.address, body="x" * 5000, headers={"List-Id": "Python help <help.python.org>"})
    post_mailgun(client, mailgun_payload(raw, recipient=group.address, sender="alice@example.org"))
    assert (Refusal.objects.get().reason, Refusal.objects.get().notified) == (Refusal.TOO_BIG, False)
    assert not Message.objects.exists() and not Post.objects.exists()


def test_a_non_member_post_from_another_list_by_webhook_gets_no_notice(client, group):
    raw = raw_post(sender="news@lists.example.net", to=group.address, headers={"List-Id": "<news.example.net>"})
    post_mailgun(client, mailgun_payload(raw, recipient=group.address, sender="news@lists.example.net"))
    assert (Refusal.objects.get().reason, Refusal.objects.get().notified) == (Refusal.NON_MEMBER, False)
    assert not Message.objects.exists() and not Post.objects.exists()


def test_a_temporary_failure_answers_5xx_so_the_provider_retries(client, group, monkeypatch):
    from mmooc.lists import relay

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(relay, "store_and_relay", broken)
    client.raise_request_exception = False
    payload = mailgun_payload(raw_post(to=group.address), recipient=group.address, sender="alice@example.org")
    assert post_mailgun(client, payload).status_code == 500
    assert not Post.objects.exists()


def post_ses(client, notification):
    return client.post("/anymail/amazon_ses/inbound/", json.dumps(notification), content_type="text/plain",
                       HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
                       HTTP_X_AMZ_SNS_MESSAGE_ID=notification["MessageId"], **AUTH)


def test_an_amazon_ses_notification_is_relayed(client, group):
    pytest.importorskip("boto3")
    raw = multipart_post(to=group.address, message_id="<ses-1@mail.example.org>")
    notification = ses_notification(raw, recipient=group.address, source="alice@example.org")
    assert post_ses(client, notification).status_code == 200
    post = Post.objects.get()
    assert bytes(post.raw) == raw and post.outbox_message.deliveries.count() == 2


def test_an_amazon_ses_spam_verdict_holds_the_post(client, group):
    pytest.importorskip("boto3")
    raw = raw_post(to=group.address)
    post_ses(client, ses_notification(raw, recipient=group.address, source="alice@example.org", spam="FAIL"))
    assert Post.objects.get().held


def post_postmark(client, payload):
    return client.post("/anymail/postmark/inbound/", json.dumps(payload), content_type="application/json", **AUTH)


def test_a_postmark_post_with_raw_content_is_relayed(client, group):
    raw = raw_post(to=group.address, message_id="<pm-raw@mail.example.org>")
    assert post_postmark(client, postmark_payload(raw, recipient=group.address,
                                                  sender="alice@example.org")).status_code == 200
    post = Post.objects.get()
    assert post.message_id == "<pm-raw@mail.example.org>" and bytes(post.raw) == raw


def test_a_postmark_post_without_raw_content_is_rebuilt_and_relayed(client, group):
    post_postmark(client, postmark_payload(None, recipient=group.address, sender="alice@example.org"))
    post = Post.objects.get()
    assert post.message_id == "<pm-1@mail.example.org>"
    assert post.text.strip() == "Hi all, shall we meet on Tuesday?"
    assert post.outbox_message.deliveries.count() == 2


def test_a_postmark_spam_verdict_holds_the_post(client, group):
    raw = raw_post(to=group.address, headers={"X-Spam-Status": "Yes"})
    post_postmark(client, postmark_payload(raw, recipient=group.address, sender="alice@example.org"))
    assert Post.objects.get().held


def test_a_sendgrid_raw_post_is_relayed(client, group):
    raw = raw_post(to=group.address, message_id="<sg-1@mail.example.org>")
    payload = {"email": raw.decode(), "envelope": json.dumps({"to": [group.address], "from": "alice@example.org"}),
               "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
               "spam_score": "0.1", "SPF": "pass"}
    with pytest.warns(Warning):
        response = client.post("/anymail/sendgrid/inbound/", payload, **AUTH)
    assert response.status_code == 200
    assert Post.objects.get().message_id == "<sg-1@mail.example.org>"


# The security cases of every inbound door, on each provider's inbound webhook.


class InboundDoorCases(WebhookDoorCases):
    """A post to group 1 from its member Alice: a relayed post is one more Post and outbox message."""

    @pytest.fixture(autouse=True)
    def _group(self, group):
        self.group = group

    def post_raw(self) -> bytes:
        return raw_post(to=self.group.address, message_id="<door-1@mail.example.org>")

    def state(self):
        return Post.objects.count(), Refusal.objects.count(), Message.objects.count()


class TestMailgunInboundSecurity(InboundDoorCases):
    url = "/anymail/mailgun/inbound_mime/"

    def send(self, client, auth):
        payload = mailgun_payload(self.post_raw(), recipient=self.group.address, sender="alice@example.org")
        return client.post(self.url, payload, **auth)

    def signed_body(self, value):
        return urlencode({**mailgun_signature(), "recipient": self.group.address, "body-mime": json.dumps(value)},
                         ).encode()


class TestPostmarkInboundSecurity(InboundDoorCases):
    url = "/anymail/postmark/inbound/"

    def send(self, client, auth):
        payload = postmark_payload(self.post_raw(), recipient=self.group.address, sender="alice@example.org")
        return client.post(self.url, json.dumps(payload), content_type="application/json", **auth)


class TestAmazonSesInboundSecurity(InboundDoorCases):
    url = "/anymail/amazon_ses/inbound/"
    content_type = "text/plain"
    missing_auth_status = 401  # SNS sends its credentials only once asked for them

    def send(self, client, auth):
        notification = ses_notification(self.post_raw(), recipient=self.group.address, source="alice@example.org")
        return client.post(self.url, json.dumps(notification), content_type="text/plain", **auth,
                           HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
                           HTTP_X_AMZ_SNS_MESSAGE_ID=notification["MessageId"])

    def malformed_headers(self):
        return {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification",
                "HTTP_X_AMZ_SNS_MESSAGE_ID": "5b7e0a2c-1d6a-5c3e-9f22-3a1c4d5e6f70"}


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
class TestSendGridInboundSecurity(InboundDoorCases):
    url = "/anymail/sendgrid/inbound/"

    def send(self, client, auth):
        payload = {"email": self.post_raw().decode(), "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8"}),
                   "envelope": json.dumps({"to": [self.group.address], "from": "alice@example.org"})}
        return client.post(self.url, payload, **auth)
