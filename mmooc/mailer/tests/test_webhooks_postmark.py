"""Postmark bounce, delivery, spam complaint and subscription webhooks at anymail's real URL."""

from __future__ import annotations

import copy
import json

import pytest

from mmooc.mailer import outbox, signals
from mmooc.mailer.models import Delivery, Event, Message, Suppression
from mmooc.testing.webhook_cases import WebhookDoorCases, basic_auth

URL = "/anymail/postmark/tracking/"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anymail_settings")]

# Postmark's documented bounce webhook example.
HARD_BOUNCE = {
    "RecordType": "Bounce",
    "MessageStream": "outbound",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Tag": "Test",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Metadata": {"a_key": "a_value", "b_key": "b_value"},
    "ServerID": 23,
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "Test bounce details",
    "Email": "john@example.com",
    "From": "sender@example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "Test subject",
    "Content": "<Full dump of bounce>",
}

SOFT_BOUNCE = {**HARD_BOUNCE, "ID": 4323372036854775808, "Type": "SoftBounce", "TypeCode": 4096,
               "Name": "Soft bounce", "Inactive": False,
               "Description": "Unable to temporarily deliver this message.",
               "Details": "smtp;452 4.2.2 The email account that you tried to reach is over quota."}

SPAM_COMPLAINT = {
    "RecordType": "SpamComplaint",
    "MessageStream": "outbound",
    "ID": 42,
    "Type": "SpamComplaint",
    "TypeCode": 512,
    "Name": "Spam complaint",
    "Tag": "Test",
    "MessageID": "00000000-0000-0000-0000-000000000000",
    "Metadata": {"a_key": "a_value", "b_key": "b_value"},
    "ServerID": 1234,
    "Description": "",
    "Details": "Test spam complaint details",
    "Email": "john@example.com",
    "From": "sender@example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": False,
    "Subject": "Test subject",
    "Content": "<Abuse report dump>",
}

DELIVERY = {
    "RecordType": "Delivery",
    "ServerID": 23,
    "MessageStream": "outbound",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "Recipient": "john@example.com",
    "Tag": "welcome-email",
    "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
    "Details": "Test delivery webhook details",
    "Metadata": {"a_key": "a_value", "b_key": "b_value"},
}

SUBSCRIPTION_CHANGE = {
    "RecordType": "SubscriptionChange",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "ServerID": 123456,
    "MessageStream": "outbound",
    "ChangedAt": "2020-02-01T10:53:34.416071Z",
    "Recipient": "bounced-address@wildbit.com",
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Tag": "my-tag",
    "Metadata": {"example": "value", "example_2": "value"},
}


def post(client, payload: dict):
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **basic_auth())


class TestSecurity(WebhookDoorCases):
    url = URL

    def send(self, client, auth):
        return client.post(URL, data=json.dumps(HARD_BOUNCE), content_type="application/json", **auth)

    def state(self):
        return Event.objects.count(), Suppression.objects.count()


def sent(address: str, provider_id: str) -> Delivery:
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(message, [outbox.Recipient(address)])
    message.deliveries.update(provider_id=provider_id, status=Delivery.SENT)
    return message.deliveries.get()


def listen(signal, uid: str) -> list[dict]:
    heard: list[dict] = []
    signal.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid=uid)
    return heard


def test_it_suppresses_a_hard_bounce(client):
    delivery = sent("john@example.com", HARD_BOUNCE["MessageID"])
    assert post(client, HARD_BOUNCE).status_code == 200
    row = Suppression.objects.get()
    assert (row.address, row.reason) == ("john@example.com", Suppression.HARD_BOUNCE)
    assert Event.objects.get().delivery == delivery


def test_it_counts_a_soft_bounce_instead_of_suppressing(client):
    assert post(client, SOFT_BOUNCE).status_code == 200
    assert Event.objects.get().raw["verdict"] == "soft-bounce"
    assert not Suppression.objects.exists()


def test_it_suppresses_a_spam_complaint_and_says_so(client):
    heard = listen(signals.complained, "t-pm-complained")
    try:
        post(client, SPAM_COMPLAINT)
    finally:
        signals.complained.disconnect(dispatch_uid="t-pm-complained")
    assert Suppression.objects.get().reason == Suppression.COMPLAINT
    assert [h["address"] for h in heard] == ["john@example.com"]


def test_it_records_a_delivery(client):
    delivery = sent("john@example.com", DELIVERY["MessageID"])
    post(client, DELIVERY)
    event = Event.objects.get()
    assert (event.event_type, event.delivery) == ("delivered", delivery)
    assert not Suppression.objects.exists()


def test_it_passes_on_an_unsubscribe_and_suppresses_when_postmark_stops_all_mail(client):
    heard = listen(signals.unsubscribed, "t-pm-unsub")
    try:
        post(client, SUBSCRIPTION_CHANGE)
    finally:
        signals.unsubscribed.disconnect(dispatch_uid="t-pm-unsub")
    assert [(h["address"], h["source"]) for h in heard] == [("bounced-address@wildbit.com", "postmark")]
    assert Suppression.objects.get().reason == Suppression.UNSUBSCRIBE



def test_it_stores_a_record_type_it_does_not_know(client):
    payload = {**copy.deepcopy(DELIVERY), "RecordType": "SomethingNew"}
    assert post(client, payload).status_code == 200
    event = Event.objects.get()
    assert event.event_type == "unknown" and event.raw["esp_event"]["RecordType"] == "SomethingNew"
