"""The suppression list: addresses never mailed, with why and since when.

    suppress("jane@example.org", Suppression.HARD_BOUNCE, "550 5.1.1 user unknown")
    unsuppress("jane@example.org", "She fixed her mailbox", actor=request.user)

Adding sends `mailer.signals.suppressed` inside the caller's transaction, so the learners
app acts (or everything is rolled back) together with the bounce, complaint or staff
action that caused it. Changes made by staff are recorded in the audit log.

A row names its address lower-cased, or, once the learner behind it erased their data
(`forget`), only a keyed hash of it (`keyed_hash`: HMAC-SHA256 keyed from SECRET_KEY,
"hmac-sha256:<hex>"), which still stops mail to that address but says nothing to whoever
reads the list. Every check matches both forms in the same indexed column, one query for a
whole batch: `suppressed_among(addresses)`, `lookup_keys(addresses)`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
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


# The prefix of a hashed row's address, and how pages and exports name such a row.
HASHED, HASHED_LABEL = Suppression.HASHED, Suppression.HASHED_LABEL
_HASH_SALT = "mmooc.mailer.suppression.erased"
# Addresses per query of suppressed_among (two parameters each): more than a delivery batch.
LOOKUP_CHUNK = 2000


def normalize(address: str) -> str:
    return address.strip().lower()


def keyed_hash(address: str) -> str:
    """What a suppression row keeps of an erased learner's address: HMAC-SHA256 of the
    lower-cased address, keyed from SECRET_KEY (so a list of common addresses cannot be
    hashed by someone who only has the database)."""
    return _keyed_hash(settings.SECRET_KEY, normalize(address))


@lru_cache(maxsize=4)
def _hash_key(secret: str) -> bytes:
    """salted_hmac's key for _HASH_SALT, derived once (it hashes the secret at every call)."""
    return hashlib.sha256((_HASH_SALT + secret).encode()).digest()


@lru_cache(maxsize=4096)  # the engine asks for each address of every batch; a group's members come back
def _keyed_hash(secret: str, address: str) -> str:
    """What salted_hmac(_HASH_SALT, address, secret, algorithm="sha256") gives, as a stored value."""
    return HASHED + hmac.new(_hash_key(secret), address.encode(), hashlib.sha256).hexdigest()


def is_hashed(stored: str) -> bool:
    return stored.startswith(HASHED)


def shown(stored: str) -> str:
    """A row's address as pages, exports and the API show it."""
    return HASHED_LABEL if is_hashed(stored) else stored


def lookup_keys(addresses: Iterable[str]) -> set[str]:
    """Every value of Suppression.address that suppresses one of the addresses: the address
    itself and its keyed hash (a stored hash token matches itself)."""
    keys: set[str] = set()
    for address in addresses:
        plain = normalize(address)
        keys.add(plain)
        if not is_hashed(plain):
            keys.add(keyed_hash(plain))
    return keys


def suppressed_among(addresses: Iterable[str]) -> set[str]:
    """The addresses (lower-cased) that must not be mailed, in one indexed query."""
    wanted = sorted({normalize(a) for a in addresses})
    barred: set[str] = set()
    for start in range(0, len(wanted), LOOKUP_CHUNK):  # SQLite limits the parameters of one query
        chunk = wanted[start:start + LOOKUP_CHUNK]
        found = set(Suppression.objects.filter(address__in=lookup_keys(chunk)).values_list("address", flat=True))
        barred.update(a for a in chunk if a in found or (not is_hashed(a) and keyed_hash(a) in found))
    return barred


def row_for(address: str) -> Suppression | None:
    """The row that suppresses the address, whether it names it or keeps only its hash."""
    return Suppression.objects.filter(address__in=lookup_keys([address])).order_by("pk").first()


def forget(addresses: Iterable[str], replacement: str = "[erased]") -> int:
    """The learner behind these addresses erased their data: their rows keep only the keyed
    hash (still honoured by every check), and the address leaves the rows' detail (a bounce
    message quoting it). Returns how many rows were changed."""
    changed = 0
    plain = {normalize(a) for a in addresses if a.strip() and not is_hashed(normalize(a))}
    for address in sorted(plain):
        hashed = keyed_hash(address)
        for row in Suppression.objects.filter(address=address):
            detail = _without(row.detail, address, replacement)
            if Suppression.objects.filter(address=hashed).exists():
                row.delete()  # already kept as a hash (an earlier erasure of the same address)
            else:
                Suppression.objects.filter(pk=row.pk).update(address=hashed, detail=detail)
            changed += 1
    return changed


def _without(text: str, address: str, replacement: str) -> str:
    return re.sub(re.escape(address), replacement, text, flags=re.IGNORECASE)


def soft_bounce_limit() -> int:
    return int(getattr(settings, "MAIL_SOFT_BOUNCE_LIMIT", SOFT_BOUNCE_LIMIT))


def soft_bounce_window() -> timedelta:
    days = getattr(settings, "MAIL_SOFT_BOUNCE_DAYS", None)
    return timedelta(days=days) if days is not None else SOFT_BOUNCE_WINDOW


def suppress(address: str, reason: str, detail: str = "", actor: Any = None) -> Suppression:
    """Add the address (if not there already); returns its suppression row."""
    address = normalize(address)
    existing = row_for(address)
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
    row = row_for(address)
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
