"""Complaint rate per scope and day (mmooc.mailer.reputation), computed from stored events."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent

from mmooc.audit.models import AuditEntry
from mmooc.mailer import events, outbox, reputation
from mmooc.mailer.models import Delivery, Event, Message

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, tzinfo=UTC)


def course_mail(scope: str = "cohort:1", n: int = 1000, kind: str = Message.SUBSCRIBED) -> Message:
    message = outbox.compose(kind=kind, subject="Week 1", body="Hi", scope=scope, tag="course-email")
    Delivery.objects.bulk_create(
        Delivery(message=message, recipient=f"l{i}@example.org", status=Delivery.SENT,
                 rfc_message_id=f"<{scope}-{message.pk}-{i}@example.org>") for i in range(n))
    return message


def happened(message: Message, event_type: str, count: int, when: datetime = NOON, start: int = 0) -> None:
    """`count` events of one type, one for each of the message's deliveries from `start` on."""
    deliveries = message.deliveries.order_by("pk")[start:start + count]
    Event.objects.bulk_create(
        Event(provider="postmark", event_type=event_type, event_id=f"{event_type}-{message.pk}-{d.pk}",
              recipient=d.recipient, delivery=d, occurred_at=when) for d in deliveries)


def test_it_computes_the_rate_from_one_days_events_of_the_scope():
    message = course_mail(n=1200)
    happened(message, "delivered", 1000)
    happened(message, "delivered", 200, when=NOON - timedelta(days=1), start=1000)
    happened(message, "complained", 2)
    happened(course_mail("cohort:2", n=10), "complained", 10)
    rate = reputation.complaint_rate("cohort:1", DAY)
    assert (rate.delivered, rate.complaints) == (1000, 2)
    assert rate.value == pytest.approx(0.002)


def test_it_counts_a_delivery_once_when_the_provider_repeats_an_event():
    message = course_mail(n=1)
    d = message.deliveries.get()
    Event.objects.bulk_create(Event(provider="sendgrid", event_type="complained", event_id=f"c{i}",
                                    delivery=d, occurred_at=NOON) for i in range(3))
    assert reputation.complaint_rate("cohort:1", DAY).complaints == 1


def test_it_does_not_judge_a_day_with_too_few_deliveries():
    message = course_mail(n=10)
    happened(message, "delivered", 10)
    happened(message, "complained", 5)
    assert reputation.judge("cohort:1", DAY) == reputation.TOO_FEW
    message.refresh_from_db()
    assert message.state == Message.ACTIVE and not AuditEntry.objects.exists()


def test_it_leaves_a_rate_at_a_tenth_of_a_percent_alone():
    message = course_mail()
    happened(message, "delivered", 1000)
    happened(message, "complained", 1)
    assert reputation.judge("cohort:1", DAY) == reputation.OK
    assert not AuditEntry.objects.exists()


def test_it_warns_above_a_tenth_of_a_percent_once_per_day(caplog):
    message = course_mail()
    happened(message, "delivered", 1000)
    happened(message, "complained", 2)
    with caplog.at_level(logging.WARNING, logger="mmooc.mailer.reputation"):
        assert reputation.judge("cohort:1", DAY) == reputation.WARNED
        assert reputation.judge("cohort:1", DAY) == reputation.WARNED
    entry = AuditEntry.objects.get()
    assert entry.action == "mail.complaint-rate-warning" and entry.actor is None
    assert entry.details == {"scope": "cohort:1", "day": "2026-03-10", "delivered": 1000, "complaints": 2}
    assert len(caplog.records) == 1 and "cohort:1" in caplog.records[0].getMessage()
    message.refresh_from_db()
    assert message.state == Message.ACTIVE


def test_it_warns_again_on_another_day():
    message = course_mail(n=2000)
    happened(message, "delivered", 1000)
    happened(message, "complained", 2)
    happened(message, "delivered", 1000, when=NOON + timedelta(days=1), start=1000)
    happened(message, "complained", 2, when=NOON + timedelta(days=1), start=1000)
    reputation.judge("cohort:1", DAY)
    reputation.judge("cohort:1", DAY + timedelta(days=1))
    assert AuditEntry.objects.filter(action=reputation.WARNED).count() == 2


def test_it_pauses_the_scopes_subscribed_mail_at_three_tenths_of_a_percent():
    message = course_mail()
    later = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 2", body="Hi", scope="cohort:1")
    confirmation = outbox.compose(kind=Message.TRANSACTIONAL, subject="Confirm", body="Hi", scope="cohort:1")
    elsewhere = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1", body="Hi", scope="cohort:2")
    happened(message, "delivered", 1000)
    happened(message, "complained", 3)
    assert reputation.judge("cohort:1", DAY) == reputation.PAUSED
    assert [m.state for m in Message.objects.filter(pk__in=[message.pk, later.pk])] == [Message.PAUSED] * 2
    assert Message.objects.get(pk=confirmation.pk).state == Message.ACTIVE
    assert Message.objects.get(pk=elsewhere.pk).state == Message.ACTIVE
    paused = AuditEntry.objects.get(action=reputation.PAUSED)
    assert set(paused.details["messages"]) == {str(message.public_id), str(later.public_id)}
    assert AuditEntry.objects.filter(action=reputation.WARNED).exists()


def test_it_leaves_a_message_an_organizer_resumed_for_the_rest_of_the_day():
    message = course_mail()
    happened(message, "delivered", 1000)
    happened(message, "complained", 3)
    reputation.judge("cohort:1", DAY)
    outbox.resume(message)
    happened(message, "complained", 1, start=3)
    reputation.judge("cohort:1", DAY)
    message.refresh_from_db()
    assert message.state == Message.ACTIVE


def test_it_does_not_pause_a_cancelled_message():
    message = course_mail()
    happened(message, "delivered", 1000)
    happened(message, "complained", 3)
    outbox.cancel(message)
    reputation.judge("cohort:1", DAY)
    message.refresh_from_db()
    assert message.state == Message.CANCELLED


def test_it_judges_the_rate_when_a_complaint_event_is_recorded():
    message = course_mail()
    happened(message, "delivered", 1000)
    happened(message, "complained", 2)
    third = message.deliveries.order_by("pk")[2]
    event = AnymailTrackingEvent(event_type="complained", recipient=third.recipient,
                                 message_id=third.header_message_id(), event_id="pm-complaint-3",
                                 timestamp=NOON, esp_event={"RecordType": "SpamComplaint"})
    with time_machine.travel(NOON + timedelta(hours=1)):
        events.record_event("postmark", event)
    message.refresh_from_db()
    assert message.state == Message.PAUSED


def test_it_does_not_judge_a_complaint_about_an_unscoped_message():
    assert reputation.after_complaint(None, NOON) == reputation.OK
    message = course_mail(scope="", n=1)
    assert reputation.after_complaint(message, NOON) == reputation.OK
