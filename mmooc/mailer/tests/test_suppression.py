"""The suppression list's functions (mmooc.mailer.suppression)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from mmooc.audit.models import AuditEntry
from mmooc.mailer import outbox, suppression
from mmooc.mailer.models import Event, Suppression

pytestmark = pytest.mark.django_db
NOW = "2024-03-04T10:00:00Z"


def soft_event(address: str, message_id: str, when=None) -> Event:
    n = Event.objects.count()
    return Event.objects.create(provider="postmark", event_type="bounced", event_id=f"e{n}",
                                provider_message_id=message_id, recipient=address,
                                raw={"verdict": suppression.VERDICT_SOFT}, occurred_at=when or timezone.now())


def test_it_adds_an_address_lower_cased():
    row = suppression.suppress("  Jane@Example.COM ", Suppression.HARD_BOUNCE, "550 5.1.1")
    assert (row.address, row.reason, row.detail) == ("jane@example.com", "hard-bounce", "550 5.1.1")
    assert outbox.is_suppressed("JANE@example.com")


def test_it_keeps_the_first_reason_when_suppressed_again():
    suppression.suppress("jane@example.com", Suppression.COMPLAINT)
    row = suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE)
    assert row.reason == Suppression.COMPLAINT and Suppression.objects.count() == 1


def test_it_records_a_staff_addition_in_the_audit_log(organizer):
    suppression.suppress("jane@example.com", Suppression.MANUAL, "Asked by phone", actor=organizer)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.details["detail"]) == ("suppression.added", organizer,
                                                                    "Asked by phone")


def test_it_does_not_fill_the_audit_log_with_bounces():
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE)
    assert not AuditEntry.objects.exists()


def test_it_removes_an_address_with_the_reason_in_the_audit_log(organizer):
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE, "550 5.1.1")
    assert suppression.unsuppress("Jane@example.com", "Mailbox fixed", organizer)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["reason"], entry.details["was"]) == (
        "suppression.removed", "Mailbox fixed", "hard-bounce")
    assert not Suppression.objects.exists()


def test_it_says_when_there_was_nothing_to_remove(organizer):
    assert suppression.unsuppress("nobody@example.com", "typo", organizer) is False
    assert not AuditEntry.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_waits_for_the_fifth_soft_bounce():
    for n in range(4):
        soft_event("jane@example.com", f"m{n}")
    assert suppression.count_soft_bounce("jane@example.com") is None
    soft_event("jane@example.com", "m4")
    assert suppression.count_soft_bounce("jane@example.com").reason == Suppression.SOFT_BOUNCES


@time_machine.travel(NOW, tick=False)
def test_it_forgets_soft_bounces_older_than_the_window():
    for n in range(4):
        soft_event("jane@example.com", f"old{n}", when=timezone.now() - timedelta(days=8))
    soft_event("jane@example.com", "new")
    assert suppression.soft_bounces("jane@example.com") == 1
    assert suppression.count_soft_bounce("jane@example.com") is None


@time_machine.travel(NOW, tick=False)
def test_it_counts_one_message_retried_all_day_once():
    for minutes in range(0, 300, 30):
        soft_event("jane@example.com", "greylisted", when=timezone.now() - timedelta(minutes=minutes))
    assert suppression.soft_bounces("jane@example.com") == 1


@time_machine.travel(NOW, tick=False)
@override_settings(MAIL_SOFT_BOUNCE_LIMIT=2, MAIL_SOFT_BOUNCE_DAYS=1)
def test_it_reads_the_limit_and_window_from_settings():
    soft_event("jane@example.com", "a", when=timezone.now() - timedelta(days=2))
    soft_event("jane@example.com", "b")
    assert suppression.count_soft_bounce("jane@example.com") is None
    soft_event("jane@example.com", "c")
    assert suppression.count_soft_bounce("jane@example.com") is not None


def test_the_keyed_hash_is_djangos_salted_hmac_of_the_lower_cased_address(settings):
    """Rows stored before the hash was computed here (with django.utils.crypto) still match."""
    from django.utils.crypto import salted_hmac

    for secret in ("first-secret-" + "x" * 40, "second-secret-" + "y" * 40):
        settings.SECRET_KEY = secret
        expected = suppression.HASHED + salted_hmac("mmooc.mailer.suppression.erased", "ana@example.org",
                                                    algorithm="sha256").hexdigest()
        assert suppression.keyed_hash(" Ana@Example.org ") == expected
