"""Sending queued webhooks to a real receiver: signatures, retries, timeouts, giving up, switching off."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.audit.models import AuditEntry
from mmooc.hooks import events, sender, signing
from mmooc.hooks.models import Endpoint, HookDelivery, HookEvent
from mmooc.mailer.models import Delivery


def queue_one(**data: object) -> HookDelivery:
    assert events.emit(events.EMAIL_SENT, {"email": {"subject": "Week 1"}, **data}) >= 1
    return HookDelivery.objects.latest("id")


def test_it_posts_a_signed_payload_that_verifies(endpoint, webhook_receiver):
    delivery = queue_one()
    assert sender.deliver_due() == 1
    (request,) = webhook_receiver.requests
    headers = request.headers
    assert signing.verify(endpoint.secret, headers["Mmooc-Timestamp"], request.body, headers["Mmooc-Signature"],
                          now=time.time())
    payload = json.loads(request.body)
    assert set(payload) == {"id", "type", "created", "data"}
    assert payload["id"] == headers["Mmooc-Event-Id"] == delivery.event.public_id
    assert payload["type"] == headers["Mmooc-Event-Type"] == "email.sent"
    assert payload["data"] == {"email": {"subject": "Week 1"}}
    assert headers["Content-Type"] == "application/json"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (HookDelivery.DELIVERED, 1, 200)


def test_the_signature_does_not_verify_with_another_secret_or_body(endpoint, webhook_receiver):
    queue_one()
    sender.deliver_due()
    (request,) = webhook_receiver.requests
    ts, sig = request.headers["Mmooc-Timestamp"], request.headers["Mmooc-Signature"]
    assert not signing.verify("whsec_other", ts, request.body, sig, now=time.time())
    assert not signing.verify(endpoint.secret, ts, request.body + b" ", sig, now=time.time())
    assert not signing.verify(endpoint.secret, ts, request.body, sig, now=time.time() + 3600)  # replayed later


def test_it_tries_again_after_a_500_with_the_same_event_id(endpoint, webhook_receiver):
    webhook_receiver.answers = [500]
    delivery = queue_one()
    sender.deliver_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (HookDelivery.PENDING, 1, 500)
    assert delivery.last_error == "Answered HTTP 500."
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert sender.deliver_due() == 0  # not due yet
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        assert sender.deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == (
        HookDelivery.DELIVERED, 2, 200, "")
    first, second = webhook_receiver.requests
    assert first.headers["Mmooc-Event-Id"] == second.headers["Mmooc-Event-Id"]


def test_it_waits_twice_as_long_after_each_failure():
    assert [sender.backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert sender.backoff(30) == timedelta(seconds=sender.BACKOFF_MAX)


def test_it_gives_up_waiting_for_an_endpoint_that_does_not_answer(endpoint, webhook_receiver):
    webhook_receiver.answers = ["hang"]
    delivery = queue_one()
    sender.deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == HookDelivery.PENDING and delivery.attempts == 1
    assert delivery.last_error == "No answer within 0.5 seconds."
    assert delivery.response_code is None


def test_it_gives_up_after_the_last_attempt(endpoint, webhook_receiver, settings):
    settings.WEBHOOKS_MAX_ATTEMPTS = 3
    webhook_receiver.default = 503
    delivery = queue_one()
    for _ in range(4):
        with time_machine.travel(HookDelivery.objects.get(pk=delivery.pk).next_attempt_at + timedelta(seconds=1)):
            sender.deliver_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (HookDelivery.FAILED, 3)
    assert len(webhook_receiver.requests) == 3


def test_it_does_not_follow_a_redirect(endpoint, webhook_receiver):
    webhook_receiver.answers = [302]
    delivery = queue_one()
    sender.deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == HookDelivery.PENDING and delivery.response_code == 302
    assert "redirects are not followed" in delivery.last_error
    assert len(webhook_receiver.requests) == 1


def test_a_switched_off_endpoint_is_sent_nothing(endpoint, webhook_receiver):
    delivery = queue_one()
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False)
    assert sender.deliver_due() == 0
    assert events.emit(events.EMAIL_SENT, {}) == 0  # and nothing new is queued for it
    assert webhook_receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == HookDelivery.PENDING and delivery.attempts == 0


def test_an_endpoint_that_wants_other_events_is_sent_nothing(endpoint, webhook_receiver):
    Endpoint.objects.filter(pk=endpoint.pk).update(events=["learner.left"])
    assert events.emit(events.EMAIL_SENT, {}) == 0
    assert not HookEvent.objects.exists()


def test_it_refuses_a_private_address_at_send_time_when_not_allowed(endpoint, webhook_receiver, settings):
    delivery = queue_one()
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    sender.deliver_due()
    delivery.refresh_from_db()
    assert "private, local or reserved address" in delivery.last_error
    assert webhook_receiver.requests == []


def test_a_delivery_claimed_by_one_sender_is_not_taken_by_another(endpoint):
    delivery = queue_one()
    assert sender._claim(delivery.pk, delivery.next_attempt_at) is not None
    assert sender._claim(delivery.pk, delivery.next_attempt_at) is None
    # A sender that stopped mid-attempt leaves it due again once the claim has run out.
    claimed = HookDelivery.objects.get(pk=delivery.pk)
    assert claimed.status == HookDelivery.PENDING and claimed.next_attempt_at > timezone.now()


def test_it_switches_off_an_endpoint_after_sustained_failure_and_tells_the_organizers(
        endpoint, webhook_receiver, settings, organizer):
    organizer.email = "olivia@example.org"
    organizer.save()
    webhook_receiver.default = 500
    settings.WEBHOOKS_DISABLE_AFTER_HOURS = 72
    queue_one()
    sender.deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is not None
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        queue_one()
        sender.deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.active and "Every attempt failed for 72 hours" in endpoint.disabled_reason
    assert AuditEntry.objects.filter(action="webhook.disabled", object_id=str(endpoint.pk)).count() == 1
    told = Delivery.objects.get(recipient="olivia@example.org")
    assert "switched off" in told.message.subject and endpoint.name in told.message.subject


def test_a_success_ends_the_failing_streak(endpoint, webhook_receiver):
    webhook_receiver.answers = [500]
    delivery = queue_one()
    sender.deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    with time_machine.travel(HookDelivery.objects.get(pk=delivery.pk).next_attempt_at + timedelta(seconds=1)):
        sender.deliver_due()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.active


def test_an_endpoint_for_one_cohort_gets_only_its_events(endpoint, cohort):
    from mmooc import testing

    other = testing.make_cohort(slug="py-4")
    Endpoint.objects.filter(pk=endpoint.pk).update(cohort=cohort)
    assert events.emit(events.EMAIL_SENT, {}, cohort_id=other.pk) == 0
    assert events.emit(events.EMAIL_SENT, {}, cohort_id=None) == 0
    assert events.emit(events.EMAIL_SENT, {}, cohort_id=cohort.pk) == 1


@pytest.mark.parametrize("data", [{"note": "naïve ☃"}, {"n": list(range(3))}])
def test_the_body_is_compact_utf8_json(endpoint, webhook_receiver, data):
    queue_one(**data)
    sender.deliver_due()
    assert webhook_receiver.events()[0]["data"]["email"] == {"subject": "Week 1"}
    assert {k: webhook_receiver.events()[0]["data"][k] for k in data} == data


def test_an_endpoint_deleted_during_an_attempt_stops_nothing(endpoint, webhook_receiver):
    delivery = queue_one()
    claimed = sender._claim(delivery.pk, delivery.next_attempt_at)
    Endpoint.objects.filter(pk=endpoint.pk).delete()
    assert sender.attempt(claimed) is True
    assert not HookDelivery.objects.exists()
