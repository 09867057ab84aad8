"""The suppression list: addresses never mailed, with why and since when.

    suppress("jane@example.org", Suppression.HARD_BOUNCE, "550 5.1.1 user unknown")
    unsuppress("jane@example.org", "She fixed her mailbox", actor=request.user)

Adding sends `mailer.signals.suppressed` inside the caller's transaction, so the learners
app acts (or everything is rolled back) together with the bounce, complaint or staff
action that caused it. Changes made by staff are recorded in the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mmooc.audit.log import record
from mmooc.mailer.models import Event, Suppression
from mmooc.mailer.signals import suppressed

# Defaults; settings MAIL_SOFT_BOUNCE_LIMIT and MAIL_SOFT_BOUNCE_DAYS override them.
SOFT_BOUNCE_LIMIT = 5
SOFT_BOUNCE_WINDOW = timedelta(days=7)
# Stored in Event.raw["verdict"] by the event and bounce handlers.
VERDICT_SOFT = "soft-bounce"


def normalize(address: str) -> str:
    return address.strip().lower()


def soft_bounce_limit() -> int:
    return int(getattr(settings, "MAIL_SOFT_BOUNCE_LIMIT", SOFT_BOUNCE_LIMIT))


def soft_bounce_window() -> timedelta:
    days = getattr(settings, "MAIL_SOFT_BOUNCE_DAYS", None)
    return timedelta(days=days) if days is not None else SOFT_BOUNCE_WINDOW


def suppress(address: str, reason: str, detail: str = "", actor: Any = None) -> Suppression:
    """Add the address (if not there already); returns its suppression row."""
    address = normalize(address)
    existing = Suppression.objects.filter(address=address).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            row = Suppression.objects.create(address=address, reason=reason, detail=detail[:2000])
    except IntegrityError:  # added at the same moment by another request
        return Suppression.objects.get(address=address)
    if actor is not None:
        record(actor, "suppression.added", row, f"Suppressed {address} ({row.get_reason_display()})",
               address=address, reason=reason, detail=detail[:500])
    suppressed.send(sender=Suppression, suppression=row)
    return row


def unsuppress(address: str, reason: str, actor: Any) -> bool:
    """Remove the address; `reason` says why, for the audit log. False if it was not listed."""
    address = normalize(address)
    row = Suppression.objects.filter(address=address).first()
    if row is None:
        return False
    with transaction.atomic():
        record(actor, "suppression.removed", row, f"Removed {address} from the suppression list: {reason}",
               address=address, was=row.reason, detail=row.detail[:500], reason=reason[:500])
        row.delete()
    return True


def soft_bounces(address: str, now: datetime | None = None) -> int:
    """Soft bounces within the window, counted once per message and day.

    A provider retrying one message reports it deferred again and again; that is one
    mailbox problem, not several.
    """
    since = (now or timezone.now()) - soft_bounce_window()
    rows = (Event.objects.filter(recipient=normalize(address), occurred_at__gte=since,
                                 raw__verdict=VERDICT_SOFT)
            .values_list("delivery_id", "provider_message_id", "id", "occurred_at"))
    keys = {(d or m or f"event-{pk}", when.date()) for d, m, pk, when in rows}
    return len(keys)


def count_soft_bounce(address: str, detail: str = "", now: datetime | None = None) -> Suppression | None:
    """Call after storing a soft bounce event: suppresses once the limit is reached."""
    n = soft_bounces(address, now)
    if n < soft_bounce_limit():
        return None
    days = soft_bounce_window().days
    text = f"{n} soft bounces within {days} days" + (f"; last: {detail}" if detail else "")
    return suppress(address, Suppression.SOFT_BOUNCES, text)
