"""Bounces arriving by mail at our return path, `bounces+<token>@<MMOOC_LIST_DOMAIN>`.

The LMTP receiver hands over every message for a bounce address:

    if is_bounce_address(rcpt):
        handle_bounce(raw, rcpt)
    elif is_unsubscribe_address(rcpt):      # the List-Unsubscribe mailto address
        handle_unsubscribe(raw, rcpt)

The token names the delivery (signed, so a forged address names nothing). A DSN
(RFC 3464) is read per recipient; a hard failure suppresses the address we sent to, a
delay or a soft failure is counted. Mail we cannot match to a delivery of ours, or cannot
read as a report, is stored as an event and changes nothing else: anyone can send mail
to a bounce address. Database errors are raised, so the LMTP server answers 451 and the
sending server retries.
"""

from __future__ import annotations

import hashlib
import logging
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mmooc.lib import dsn
from mmooc.mailer import verp
from mmooc.mailer.events import HARD, NONE, SOFT, UNSUBSCRIBE, Incoming, act, store
from mmooc.mailer.models import Delivery, with_message_id
from mmooc.mailer.report import reason_text

log = logging.getLogger("mmooc.mailer.bounces")

PROVIDER = "dsn"
_VERDICTS = {dsn.HARD: HARD, dsn.SOFT: SOFT}
_EVENT_TYPES = {"delayed": "deferred", "delivered": "delivered", "relayed": "delivered", "expanded": "delivered"}


def is_bounce_address(address: str) -> bool:
    return verp.is_bounce_address(address)


def _by_message_id(message_id: str, recipients: list[str]) -> Delivery | None:
    """Fallback when the return path lost its token: our own Message-ID and the recipient.

    Relayed group posts keep their author's Message-ID, known to every member, so only
    messages we composed (whose Message-ID is random and per copy) are matched this way.
    """
    if not message_id:
        return None
    rows = Delivery.objects.filter(with_message_id(message_id), message__raw__isnull=True)
    for address in recipients:
        found = rows.filter(recipient__iexact=address).first()
        if found is not None:
            return found
    return None


def find_delivery(report: dsn.Report, envelope_recipient: str) -> Delivery | None:
    delivery = verp.delivery_from_bounce_address(envelope_recipient)
    if delivery is not None:
        return delivery
    addresses = [a for r in report.recipients for a in (r.final_recipient, r.original_recipient) if a]
    envid = verp.id_from_token(report.envelope_id) if report.envelope_id else None
    if envid is not None:
        return Delivery.objects.filter(pk=envid).first()
    return (_by_message_id(report.envelope_id, addresses)
            or _by_message_id(report.message_id, addresses))


def _source_id(raw: bytes) -> str:
    """The bounce's own identity: a retried LMTP delivery of it is stored once."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:40]


def _summary(report: dsn.Report) -> dict[str, object]:
    return {"is_dsn": report.is_dsn, "reporting_mta": report.reporting_mta,
            "envelope_id": report.envelope_id, "message_id": report.message_id,
            "subject": report.subject, "from": report.sender, "problems": report.problems[:10]}


def _item(report: dsn.Report, r: dsn.RecipientStatus | None, raw_id: str, envelope_recipient: str,
          delivery: Delivery | None) -> Incoming:
    kind = r.verdict if r is not None else dsn.UNKNOWN
    event_type = _EVENT_TYPES.get(r.action, "bounced") if r is not None else (
        "autoresponded" if report.auto_reply else "bounced")
    # A report we could not tie to one of our deliveries acts on nobody.
    action = _VERDICTS.get(kind, NONE) if delivery is not None else NONE
    # Events are counted by the address we sent to, whatever a forwarding renamed it to since.
    recipient = delivery.recipient if delivery is not None else (r.final_recipient if r is not None else "")
    detail = " ".join(x for x in (r.status, r.diagnostic) if x) if r is not None else report.subject
    raw = {**_summary(report), "envelope_recipient": dsn.clean(envelope_recipient, 254), "verdict": action}
    if r is not None:
        raw.update(final_recipient=r.final_recipient, original_recipient=r.original_recipient,
                   action=r.action, status=r.status, diagnostic=r.diagnostic)
    return Incoming(
        provider=PROVIDER, event_type=event_type, event_id=f"{raw_id}:{recipient.lower()}"[:255],
        recipient=recipient.lower(), message_id=(delivery.header_message_id() if delivery else report.message_id),
        description=detail[:2000], raw=raw, verdict=action, occurred_at=timezone.now())


def handle_bounce(raw: bytes, envelope_recipient: str) -> None:
    """Store what a bounce says and act on it; never raises for what the bounce contains."""
    report = dsn.parse(raw)
    raw_id = _source_id(raw)
    with transaction.atomic():
        delivery = find_delivery(report, envelope_recipient)
        statuses: list[dsn.RecipientStatus | None] = list(report.recipients) or [None]
        for r in statuses:
            item = _item(report, r, raw_id, envelope_recipient, delivery)
            if store(item, delivery) is not None and delivery is not None:
                # The address we sent to, whatever name its forwarding gave it since.
                act(item, delivery.recipient, delivery, "bounce")
    if delivery is None:
        log.info("bounce for %s matched no delivery (%s)", envelope_recipient[:254], report.subject[:80])


# Refusals while sending: a 5xx from the SMTP server we hand copies to ------------------
#
# The same verdict a hard-bounce DSN gets, for the replies that say the mailbox does not
# exist. Policy and reputation refusals say nothing about the address: they are stored,
# and the address stays (docs/mail.md, "Refusals while sending").

# Enhanced status codes (RFC 3463) about the recipient's address: bad mailbox (5.1.1),
# bad system (5.1.2), bad syntax (5.1.3), moved (5.1.6), null MX (5.1.10), disabled (5.2.1).
# Not 5.1.0/5.1.7/5.1.8: servers use them to refuse our sender.
MAILBOX_GONE_CODES = {("1", "1"), ("1", "2"), ("1", "3"), ("1", "6"), ("1", "10"), ("2", "1")}
# Without an enhanced code, a plain 550/551/553 whose text says so.
_GONE_TEXT = re.compile(
    r"no such (user|mailbox|recipient|address)|(user|recipient|mailbox|address) (unknown|not found|does not exist)"
    r"|unknown (user|recipient|mailbox)|does not exist|invalid (recipient|mailbox)|mailbox unavailable",
    re.IGNORECASE)
# Words that make any refusal a matter of policy, whatever its code says.
_POLICY_TEXT = re.compile(r"block|spam|reputation|policy|blacklist|dnsbl|\brbl\b|abuse|sender|relay",
                          re.IGNORECASE)
_SMTP_REPLY = re.compile(r"^\s*(5\d\d)(?:[\s-]|$)")
# Addresses quoted in a reply ("<spamfan@blocked.example>") are not words about policy.
_ADDRESSES = re.compile(r"<[^<>]*>|\S+@\S+")


def _policy_words(reply: str) -> bool:
    return _POLICY_TEXT.search(_ADDRESSES.sub(" ", reply)) is not None


def refusal_verdict(reply: str) -> str:
    """HARD when an SMTP reply refusing a copy means the mailbox does not exist, else NONE."""
    basic = _SMTP_REPLY.match(reply or "")
    if basic is None or _policy_words(reply):
        return NONE
    code = dsn.status_class(reply)
    if code is not None:
        klass, subject, detail = code
        return HARD if klass == "5" and (subject, detail) in MAILBOX_GONE_CODES else NONE
    return HARD if basic.group(1) in ("550", "551", "553") and _GONE_TEXT.search(reply) else NONE


_ENHANCED_POLICY = re.compile(r"^\s*[45]\d\d[\s-]+[45]\.7\.\d{1,3}\b")
_ANY_REPLY = re.compile(r"^\s*[45]\d\d(?:[\s-]|$)")


def is_policy_refusal(reply: str) -> bool:
    """Whether an SMTP refusal (4xx or 5xx) is about policy or reputation, not the mailbox:
    an enhanced code 4.7.x or 5.7.x, or a text that says so ("blocked", "spam", "policy", …)."""
    reply = reply or ""
    return bool(_ANY_REPLY.match(reply) and (_ENHANCED_POLICY.match(reply) or _policy_words(reply)))


def handle_refusal(delivery_id: int, reply: str) -> bool:
    """A copy the SMTP server refused with 5xx: stored as a bounce of that delivery, and
    the address suppressed when the reply means the mailbox does not exist. True then."""
    if _SMTP_REPLY.match(reply or "") is None:
        return False
    kind = refusal_verdict(reply)
    with transaction.atomic():
        delivery = Delivery.objects.filter(pk=delivery_id).first()
        if delivery is None:
            return False
        item = Incoming(
            provider="smtp", event_type="bounced", event_id=f"refused:{delivery.pk}",
            recipient=delivery.recipient.lower(), message_id=delivery.header_message_id(),
            description=reply[:2000], raw={"reply": reply[:2000], "verdict": kind, "at": "sending"},
            verdict=kind, occurred_at=timezone.now())
        if store(item, delivery) is not None:
            act(item, delivery.recipient, delivery, "smtp")
    if kind == HARD:
        log.info("suppressed the address of delivery %s: the server refused it with %s", delivery_id,
                 reason_text(reply[:200]))
    return kind == HARD


# One-click unsubscribe by mail: `List-Unsubscribe: <mailto:unsubscribe+<token>@…>` ------

def is_unsubscribe_address(address: str) -> bool:
    local, _, domain = address.strip().strip("<>").rpartition("@")
    return (domain.lower() == settings.LIST_DOMAIN
            and local.lower().startswith(verp.UNSUBSCRIBE_PREFIX + "+"))


def handle_unsubscribe(raw: bytes, envelope_recipient: str) -> bool:
    """A mail to the List-Unsubscribe mailto address: the learners app is told, once.

    The token is known only to the copy's recipient, so the From of the request is not
    compared (it may be an alias of the address we wrote to). False for a forged token.
    """
    delivery = verp.delivery_from_unsubscribe_address(envelope_recipient)
    if delivery is None:
        return False
    item = Incoming(provider="mailto", event_type="unsubscribed", event_id=_source_id(raw),
                    recipient=delivery.recipient.lower(), message_id=delivery.header_message_id(),
                    description="Unsubscribe request by mail",
                    raw={"envelope_recipient": dsn.clean(envelope_recipient, 254), "verdict": UNSUBSCRIBE,
                         "all_mail": False}, verdict=UNSUBSCRIBE, occurred_at=timezone.now())
    with transaction.atomic():
        if store(item, delivery) is not None:
            act(item, delivery.recipient, delivery, "mailto")
    return True
