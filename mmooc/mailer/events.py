"""Provider events (anymail's `tracking` signal): stored, matched to deliveries, acted on.

Anymail authenticates each webhook (WEBHOOK_SECRET basic auth; Mailgun's signing key)
and sends one normalized event per recipient. Here each event is

- checked against replays (Mailgun: timestamp within 15 minutes, token used once);
- stored, whatever its type, with the provider's raw event; a repeated event id is
  ignored (Event's unique constraint), so providers may retry freely;
- matched to its delivery on (provider message id, recipient), falling back to our own
  Message-ID; events for unknown messages are kept with no delivery;
- acted on: hard bounce -> suppressed at once; soft bounce -> counted, suppressed past a
  limit; complaint -> suppressed, `complained` sent, the scope's complaint rate judged
  (`reputation`); unsubscribe -> `unsubscribed` sent.

Everything happens in one transaction: an unexpected error rolls it back and anymail
answers 500, so the provider retries later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from mmooc.lib import dsn
from mmooc.mailer import reputation, signals
from mmooc.mailer.models import Delivery, Event, Suppression, with_message_id
from mmooc.mailer.suppression import VERDICT_SOFT, count_soft_bounce, normalize, suppress

log = logging.getLogger("mmooc.mailer.events")

REPLAY_WINDOW = timedelta(minutes=15)
HARD, SOFT, COMPLAINT, UNSUBSCRIBE, NONE = "hard-bounce", VERDICT_SOFT, "complaint", "unsubscribe", ""
# Providers whose event id names one event for one recipient; for the others (Amazon SES
# sends one notification for several recipients) the recipient is part of the stored id.
ONE_RECIPIENT_PER_ID = {"mailgun"}
# Rejections that say something about the address; the others (a sandbox domain, content
# refused, our sender not confirmed) are about us and must not suppress a whole audience.
ADDRESS_REJECTIONS = {RejectReason.INVALID: HARD, RejectReason.BOUNCED: HARD,
                      RejectReason.SPAM: COMPLAINT, RejectReason.UNSUBSCRIBED: UNSUBSCRIBE}
SES_SOFT_TYPES = {"Transient", "Undetermined"}
POSTMARK_SOFT_TYPES = {"SoftBounce", "Transient", "DnsError"}
POSTMARK_NOT_ADDRESS = {"VirusNotification", "Unconfirmed", "DMARCPolicy", "TemplateRenderingFailed",
                        "SMTPApiError", "Blocked"}


def provider_name(esp_name: str) -> str:
    """anymail's "Amazon SES" -> "amazon_ses", as in the webhook URL."""
    return esp_name.strip().lower().replace(" ", "_")[:32]


def jsonable(value: Any) -> Any:
    """The raw event as plain JSON (Mailgun's legacy events arrive as a QueryDict).

    NUL characters are dropped: PostgreSQL refuses them in text and JSON, and a provider
    retrying an event it cannot deliver must not be refused forever. For the same reason the
    numbers JSON has no words for (Infinity, NaN, which Python's reader takes) are kept as text.
    """
    if hasattr(value, "lists"):
        value = {k: v if len(v) > 1 else v[0] for k, v in value.lists()}
    return _scrub(json.loads(json.dumps(value, default=str)))


def _scrub(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # "Infinity", "-Infinity", "NaN"
    if isinstance(value, str):  # and no lone surrogates, which PostgreSQL cannot store either
        return value.replace("\0", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "replace")).hexdigest()


def event_key(provider: str, event_id: str, recipient: str, raw: Any) -> str:
    """What Event.event_id stores: unique per provider, stable when the provider repeats itself."""
    base = event_id or "sha256:" + _digest(json.dumps(raw, sort_keys=True), recipient)[:40]
    key = base if provider in ONE_RECIPIENT_PER_ID or not recipient else f"{base}:{recipient}"
    return key if len(key) <= 255 else f"{base[:180]}:{_digest(key)[:64]}"


# Matching --------------------------------------------------------------------------------

def match_delivery(message_id: str | None, recipient: str) -> Delivery | None:
    """The delivery a provider event is about: its message id and recipient."""
    given = (message_id or "").strip()
    bare = given.strip("<>")
    if not bare:
        return None
    for column, where in (("provider_id", Q(provider_id__in={given, bare, f"<{bare}>"})),
                          ("rfc_message_id", with_message_id(bare))):
        rows = Delivery.objects.filter(where)
        found = rows.filter(recipient__iexact=recipient).first() if recipient else None
        if found is None:
            two = list(rows[:2])
            # Without a recipient match, only an id naming exactly one copy is trusted.
            found = two[0] if len(two) == 1 and (not recipient or column == "provider_id") else None
        if found is not None:
            return found
    return None


# Classifying -----------------------------------------------------------------------------

def _raw_dict(event: AnymailTrackingEvent) -> Mapping[str, Any]:
    return event.esp_event if isinstance(event.esp_event, Mapping) else {}


def _text(raw: Any, *path: str) -> str:
    """The text at `path` in a provider's event, or "" when anything on the way is missing or
    not what the provider documents (a number, a list: anyone can post to a webhook)."""
    for key in path:
        raw = raw.get(key) if isinstance(raw, Mapping) else None
    return raw if isinstance(raw, str) else ""


def _bounce_verdict(provider: str, event: AnymailTrackingEvent) -> str:
    raw = _raw_dict(event)
    if provider == "amazon_ses" and _text(raw, "bounce", "bounceType") in SES_SOFT_TYPES:
        return SOFT
    if provider == "postmark":
        kind = _text(raw, "Type") or _text(raw, "SuppressionReason")
        if kind in POSTMARK_SOFT_TYPES:
            return SOFT
        if kind in POSTMARK_NOT_ADDRESS:
            return NONE
    response = event.mta_response
    by_code = dsn.verdict_for_code(response if isinstance(response, str) else "")
    return SOFT if by_code == dsn.SOFT else HARD


def _unsubscribe_is_total(provider: str, event: AnymailTrackingEvent) -> bool:
    """Whether the provider itself will now refuse all our mail to the address."""
    raw = _raw_dict(event)
    if provider == "postmark":
        return raw.get("SuppressSending") is True  # a JSON boolean; not any text that is not empty
    if provider == "sendgrid":
        return raw.get("event") == "unsubscribe"  # not "group_unsubscribe"
    return False


def verdict(provider: str, event: AnymailTrackingEvent) -> str:
    kind = event.event_type
    if kind == EventType.BOUNCED:
        return _bounce_verdict(provider, event)
    if kind == EventType.DEFERRED:
        return SOFT
    if kind == EventType.REJECTED:
        if provider == "postmark" and _text(_raw_dict(event), "Type") in POSTMARK_NOT_ADDRESS:
            return NONE
        return ADDRESS_REJECTIONS.get(event.reject_reason, NONE)
    if kind == EventType.COMPLAINED:
        return COMPLAINT
    if kind == EventType.UNSUBSCRIBED:
        return UNSUBSCRIBE
    return NONE


# Storing and acting ----------------------------------------------------------------------

@dataclass(frozen=True)
class Incoming:
    """One event, from a webhook or a bounce by mail, ready to store."""

    provider: str
    event_type: str
    event_id: str
    recipient: str
    message_id: str
    description: str
    raw: dict[str, Any]
    verdict: str
    occurred_at: datetime


def store(item: Incoming, delivery: Delivery | None) -> Event | None:
    """Save the event; None if this provider already told us (nothing changes then)."""
    if Event.objects.filter(provider=item.provider, event_id=item.event_id).exists():
        return None
    try:
        with transaction.atomic():
            return Event.objects.create(
                provider=item.provider, event_type=item.event_type[:32], event_id=item.event_id,
                provider_message_id=item.message_id[:255], recipient=item.recipient[:254],
                delivery=delivery, description=item.description, raw=item.raw,
                occurred_at=item.occurred_at, received_at=timezone.now())
    except IntegrityError:  # the same event arriving twice at the same moment
        return None


def act(item: Incoming, address: str, delivery: Delivery | None, source: str) -> None:
    """Carry out what the event means for the address."""
    if not address or item.verdict == NONE or len(address) > 254 or "@" not in address:
        return
    detail = f"{source}: {item.description}".strip(": ")[:2000]
    if item.verdict == HARD:
        suppress(address, Suppression.HARD_BOUNCE, detail)
    elif item.verdict == SOFT:
        count_soft_bounce(address, detail)
    elif item.verdict == COMPLAINT:
        suppress(address, Suppression.COMPLAINT, detail)
        signals.complained.send(sender=Event, address=address, delivery=delivery)
        if item.event_type == reputation.COMPLAINED:
            reputation.after_complaint(delivery.message if delivery else None, item.occurred_at)
    elif item.verdict == UNSUBSCRIBE:
        if item.raw.get("all_mail"):
            suppress(address, Suppression.UNSUBSCRIBE, detail)
        signals.unsubscribed.send(sender=Event, address=address, delivery=delivery, source=source)


def _describe(event: AnymailTrackingEvent) -> str:
    parts = [_scrub(str(p)) for p in (event.description, event.mta_response) if p]
    return " — ".join(dict.fromkeys(parts))[:2000]


def _aware(when: datetime | None) -> datetime:
    if when is None:
        return timezone.now()
    return timezone.make_aware(when, UTC) if timezone.is_naive(when) else when


def incoming_from_anymail(provider: str, event: AnymailTrackingEvent) -> Incoming:
    recipient = normalize(_scrub(str(event.recipient or "")))
    esp_event = jsonable(event.esp_event)
    kind = verdict(provider, event)
    raw = {"esp_event": esp_event, "verdict": kind, **jsonable(
        {"reject_reason": event.reject_reason, "mta_response": event.mta_response, "click_url": event.click_url})}
    if kind == UNSUBSCRIBE:
        raw["all_mail"] = _unsubscribe_is_total(provider, event)
    return Incoming(
        provider=provider, event_type=str(event.event_type or "unknown"),
        event_id=event_key(provider, _scrub(str(event.event_id or "")), recipient, esp_event),
        recipient=recipient, message_id=_scrub(str(event.message_id or "")), description=_describe(event),
        raw=raw, verdict=kind, occurred_at=_aware(event.timestamp))


def record_event(provider: str, event: AnymailTrackingEvent) -> Event | None:
    """Store one tracking event and act on it; None for a repeat."""
    item = incoming_from_anymail(provider, event)
    with transaction.atomic():
        delivery = match_delivery(item.message_id, item.recipient)
        stored = store(item, delivery)
        if stored is None:
            return None
        if delivery is None:
            log.info("%s %s event for an unknown message (%s)", provider, item.event_type, item.message_id)
        act(item, item.recipient, delivery, provider)
    return stored


# Mailgun replay check --------------------------------------------------------------------

def _mailgun_signature(esp_event: Any) -> tuple[str, str]:
    block = esp_event.get("signature") if isinstance(esp_event, Mapping) else None
    if isinstance(block, Mapping):
        return str(block.get("timestamp", "")), str(block.get("token", ""))
    return str(esp_event.get("timestamp", "")), str(esp_event.get("token", ""))


def check_mailgun_replay(event: AnymailTrackingEvent, now: datetime | None = None) -> None:
    """Anymail checks Mailgun's HMAC but not its age or reuse: a captured request must not work twice."""
    timestamp, token = _mailgun_signature(event.esp_event or {})
    try:
        signed_at = datetime.fromtimestamp(float(timestamp), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise AnymailWebhookValidationFailure("Mailgun webhook without a usable timestamp") from None
    if abs((now or timezone.now()) - signed_at) > REPLAY_WINDOW:
        raise AnymailWebhookValidationFailure("Mailgun webhook signed more than 15 minutes ago (replay?)")
    if not token or Event.objects.filter(provider="mailgun", event_id=token).exists():
        raise AnymailWebhookValidationFailure("Mailgun webhook token already used (replay?)")


@receiver(tracking, dispatch_uid="mmooc.mailer.events.on_tracking")
def on_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    provider = provider_name(esp_name)
    if provider == "mailgun":
        check_mailgun_replay(event)
    record_event(provider, event)


def unmatched_count() -> int:
    """Events kept although no delivery of ours could be found for them."""
    return Event.objects.filter(Q(delivery__isnull=True)).count()
