"""Mailgun tracking webhooks through anymail's real URL, with payloads as Mailgun documents them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
import time_machine

from mmooc.mailer import outbox, signals
from mmooc.mailer.models import Delivery, Event, Message, Suppression
from mmooc.testing.webhook_cases import MAILGUN_SIGNING_KEY as SIGNING_KEY
from mmooc.testing.webhook_cases import WebhookDoorCases, basic_auth, mailgun_signature

URL = "/anymail/mailgun/tracking/"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anymail_settings")]

# Mailgun's "failed" (permanent) event, as in Mailgun's webhook documentation.
FAILED_PERMANENT = {
    "signature": {
        "timestamp": "1534110422",
        "token": "8f5d0b2a5ad0c3e4fbd7b0f1f2cd0d5e9ca19f7d5f1a2b3c4d",
        "signature": "",
    },
    "event-data": {
        "event": "failed",
        "severity": "permanent",
        "reason": "bounce",
        "recipient": "invalid@example.com",
        "timestamp": 1534110422.389832,
        "log-level": "error",
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "message": {
            "headers": {
                "to": "invalid@example.com",
                "message-id": "20180812214658.1.0DF563D0B3597700@example.org",
                "from": "Test Sender <sender@example.org>",
                "subject": "Week 1",
            },
            "attachments": [],
            "size": 111,
        },
        "delivery-status": {
            "tls": True,
            "mx-host": "aspmx.l.example.com",
            "attempt-no": 1,
            "description": "",
            "session-seconds": 2.952177047729492,
            "utf8": True,
            "code": 550,
            "message": "5.1.1 The email account that you tried to reach does not exist. Please try\n"
                       "5.1.1 double-checking the recipient's email address for typos",
            "certificate-verified": True,
        },
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False,
                  "is-test-mode": False},
        "envelope": {"transport": "smtp", "sender": "bounces@example.org", "sending-ip": "209.61.154.250",
                     "targets": "invalid@example.com"},
        "user-variables": {},
        "tags": [],
    },
}

FAILED_TEMPORARY = {
    "signature": {"timestamp": "1534111899", "token": "3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c",
                  "signature": ""},
    "event-data": {
        "event": "failed",
        "severity": "temporary",
        "reason": "generic",
        "timestamp": 1534111899.659519,
        "log-level": "warn",
        "message": {"headers": {"to": "undeliverable@nomx.example.com",
                                "message-id": "20180812214638.1.4A7D468E9BC18C5D@example.org",
                                "from": "Test Sender <sender@example.org>", "subject": "Testing"}},
        "recipient": "undeliverable@nomx.example.com",
        "delivery-status": {"attempt-no": 3, "description": "No MX for nomx.example.com",
                            "session-seconds": 0.0, "retry-seconds": 1800, "code": 498,
                            "message": "No MX for nomx.example.com"},
    },
}

COMPLAINED = {
    "signature": {"timestamp": "1377214260", "token": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcdef0123",
                  "signature": ""},
    "event-data": {
        "event": "complained",
        "id": "ncV2XwymRUKbPek_MIM-Gw",
        "timestamp": 1377214260.049634,
        "log-level": "warn",
        "recipient": "recipient@example.com",
        "message": {"headers": {"to": "recipient@example.com",
                                "message-id": "20130718032413.263EE2E0926@example.org",
                                "from": "Sender Name <sender@example.org>", "subject": "Week 2"}},
    },
}

DELIVERED = {
    "signature": {"timestamp": "1534108637", "token": "651869375b9df3c98fc15c4889b102119add1235c38fc92824",
                  "signature": ""},
    "event-data": {
        "tags": [], "timestamp": 1534108637.153125,
        "recipient-domain": "example.com", "id": "hTWCTD81RtiDN-...",
        "user-variables": {}, "log-level": "info",
        "envelope": {"sending-ip": "333.123.123.200", "sender": "test@example.org", "transport": "smtp",
                     "targets": "recipient@example.com"},
        "message": {"headers": {"to": "recipient@example.com",
                                "message-id": "20180812211713.1.DF5966851B4BAA99@example.org",
                                "from": "test@example.org", "subject": "Testing"},
                    "attachments": [], "size": 809},
        "recipient": "recipient@example.com",
        "event": "delivered",
        "delivery-status": {"tls": True, "mx-host": "smtp-in.example.com", "attempt-no": 1, "description": "",
                            "session-seconds": 3.57, "utf8": True, "code": 250, "message": "OK",
                            "certificate-verified": True},
    },
}


def signed(payload: dict, key: str = SIGNING_KEY) -> dict:
    data = copy.deepcopy(payload)
    sig = data["signature"]
    sig["signature"] = hmac.new(key.encode(), f"{sig['timestamp']}{sig['token']}".encode(),
                                hashlib.sha256).hexdigest()
    return data


def at_signature(payload: dict, seconds_later: int = 5) -> time_machine.travel:
    when = datetime.fromtimestamp(int(payload["signature"]["timestamp"]) + seconds_later, tz=UTC)
    return time_machine.travel(when, tick=False)


def post(client, payload: dict, **extra):
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **{**basic_auth(), **extra})


class TestSecurity(WebhookDoorCases):
    url = URL
    replay_status = 400  # a signature's token is taken once

    def send(self, client, auth):
        with at_signature(FAILED_PERMANENT):
            return client.post(URL, data=json.dumps(signed(FAILED_PERMANENT)), content_type="application/json",
                               **auth)

    def state(self):
        return Event.objects.count(), Suppression.objects.count()

    def signed_body(self, value):
        return json.dumps({"signature": mailgun_signature(), "event-data": value}).encode()


def delivery_for(payload: dict) -> Delivery:
    data = payload["event-data"]
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Week 1", body="Hello")
    outbox.enqueue(message, [outbox.Recipient(data["recipient"])])
    mid = "<" + data["message"]["headers"]["message-id"] + ">"
    message.deliveries.update(provider_id=mid, status=Delivery.SENT)
    return message.deliveries.get()


def test_it_suppresses_a_permanent_failure_at_once(client):
    delivery = delivery_for(FAILED_PERMANENT)
    with at_signature(FAILED_PERMANENT):
        response = post(client, signed(FAILED_PERMANENT))
    assert response.status_code == 200
    row = Suppression.objects.get()
    assert (row.address, row.reason) == ("invalid@example.com", Suppression.HARD_BOUNCE)
    assert "does not exist" in row.detail
    assert Event.objects.get().delivery == delivery


def test_it_stores_the_raw_event(client):
    with at_signature(FAILED_PERMANENT):
        post(client, signed(FAILED_PERMANENT))
    event = Event.objects.get()
    assert (event.provider, event.event_type) == ("mailgun", "bounced")
    assert event.raw["esp_event"]["event-data"]["id"] == "G9Bn5sl1TC6nu79C8C0bwg"
    assert event.event_id == FAILED_PERMANENT["signature"]["token"]


def test_it_counts_a_temporary_failure_without_suppressing(client):
    with at_signature(FAILED_TEMPORARY):
        response = post(client, signed(FAILED_TEMPORARY))
    assert response.status_code == 200
    assert Event.objects.get().event_type == "deferred"
    assert not Suppression.objects.exists()


def test_it_suppresses_a_complaint_and_says_so(client):
    delivery = delivery_for(COMPLAINED)
    heard = []
    signals.complained.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid="t-mg")
    try:
        with at_signature(COMPLAINED):
            post(client, signed(COMPLAINED))
    finally:
        signals.complained.disconnect(dispatch_uid="t-mg")
    assert Suppression.objects.get().reason == Suppression.COMPLAINT
    assert heard == [{"signal": signals.complained, "address": "recipient@example.com", "delivery": delivery}]


def test_it_records_a_delivery_without_acting(client):
    with at_signature(DELIVERED):
        assert post(client, signed(DELIVERED)).status_code == 200
    assert Event.objects.get().event_type == "delivered"
    assert not Suppression.objects.exists()



def test_it_refuses_a_forged_signature(client):
    with at_signature(FAILED_PERMANENT):
        response = post(client, signed(FAILED_PERMANENT, key="key-not-ours"))
    assert response.status_code == 400
    assert not Event.objects.exists() and not Suppression.objects.exists()


def test_it_refuses_a_missing_signature(client):
    payload = copy.deepcopy(FAILED_PERMANENT)
    del payload["signature"]
    with at_signature(FAILED_PERMANENT):
        response = post(client, payload)
    assert response.status_code == 400
    assert not Event.objects.exists()




def test_it_refuses_a_signature_older_than_15_minutes(client):
    with at_signature(FAILED_PERMANENT, seconds_later=16 * 60):
        response = post(client, signed(FAILED_PERMANENT))
    assert response.status_code == 400
    assert not Event.objects.exists() and not Suppression.objects.exists()


def test_it_accepts_a_signature_14_minutes_old(client):
    with at_signature(FAILED_PERMANENT, seconds_later=14 * 60):
        assert post(client, signed(FAILED_PERMANENT)).status_code == 200


def test_it_refuses_a_reused_token_with_another_body(client):
    with at_signature(DELIVERED):
        post(client, signed(DELIVERED))
        forged = copy.deepcopy(FAILED_PERMANENT)
        forged["signature"] = copy.deepcopy(DELIVERED["signature"])
        response = post(client, signed(forged))
    assert response.status_code == 400
    assert Event.objects.count() == 1 and not Suppression.objects.exists()




def test_it_keeps_an_event_for_an_unknown_message(client):
    with at_signature(FAILED_PERMANENT):
        assert post(client, signed(FAILED_PERMANENT)).status_code == 200
    assert Event.objects.get().delivery is None
    assert Suppression.objects.filter(address="invalid@example.com").exists()


# Mailgun's legacy (form-encoded) webhooks: "dropped" because the address bounced before.
LEGACY_DROPPED = {
    "code": "605",
    "domain": "example.com",
    "description": "Not delivering to previously bounced address",
    "Message-Id": "<20160421180324.70521.79375.96884DDB@example.com>",
    "reason": "hardfail",
    "event": "dropped",
    "recipient": "bounce@example.com",
    "timestamp": "1461261330",
    "token": "a3fe1fa1640349ac552b84ddde373014b4c41645830c8dd3fc",
}


def legacy_signed(data: dict) -> dict:
    mac = hmac.new(SIGNING_KEY.encode(), f"{data['timestamp']}{data['token']}".encode(), hashlib.sha256)
    return {**data, "signature": mac.hexdigest()}


def test_it_suppresses_on_a_legacy_dropped_event(client):
    with time_machine.travel(datetime.fromtimestamp(1461261335, tz=UTC), tick=False):
        response = client.post(URL, data=legacy_signed(LEGACY_DROPPED), **basic_auth())
    assert response.status_code == 200
    assert Suppression.objects.get().address == "bounce@example.com"


def test_it_refuses_an_old_legacy_event(client):
    with time_machine.travel(datetime.fromtimestamp(1461261330 + 3600, tz=UTC), tick=False):
        response = client.post(URL, data=legacy_signed(LEGACY_DROPPED), **basic_auth())
    assert response.status_code == 400
    assert not Suppression.objects.exists()
