"""The webhook door: inbound mail from a provider's route, through django-anymail's signal.

The group is the envelope recipient the provider reports, never To or Cc (MAIL_RULES 35).
The relay gets the raw MIME when the provider sends it (Mailgun `body-mime`, Amazon SES
`content`, Postmark `RawEmail`, SendGrid `email`), else the message anymail rebuilt. A
provider's spam verdict holds the post. A temporary failure raises, so anymail answers
5xx and the provider retries.
"""

from __future__ import annotations

import logging
from base64 import b64decode
from email import policy
from typing import Any

from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent

from mmooc.lib.webhooks import TemporaryFailure
from mmooc.lists import relay

log = logging.getLogger("mmooc.lists")


class RelayUnavailable(TemporaryFailure):
    """The relay could not take the message now; the provider should post it again."""


def handle_inbound(sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    message: AnymailInboundMessage = event.message
    recipient = (message.envelope_recipient or "").strip()
    if not recipient:
        log.warning("lists: %s posted inbound mail without an envelope recipient; ignored", esp_name)
        return
    outcomes = relay.receive(raw_mime(event, esp_name), message.envelope_sender, [recipient],
                             held_reason=spam_reason(message, esp_name), notify_refused=True)
    for outcome in outcomes:
        if outcome.action == relay.TEMPFAIL:
            raise RelayUnavailable(f"could not relay a message for {recipient} now")
        if not outcome.accepted:
            log.info("lists: %s inbound for %s refused: %s", esp_name, recipient, outcome.reply)


def raw_mime(event: AnymailInboundEvent, esp_name: str) -> bytes:
    """The message as the provider received it, when the provider passes it on."""
    esp_event = event.esp_event
    raw: str | bytes | None = None
    if esp_name == "Amazon SES" and isinstance(esp_event, dict):
        action = esp_event.get("receipt", {}).get("action", {})
        content = esp_event.get("content")
        if isinstance(content, str):
            raw = b64decode(content) if action.get("encoding") == "BASE64" else content
    elif isinstance(esp_event, dict):
        raw = esp_event.get("RawEmail")
    elif hasattr(esp_event, "POST"):
        raw = esp_event.POST.get("body-mime") or esp_event.POST.get("email")
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, bytes):
        return raw
    return _serialized(event.message)


def _serialized(message: AnymailInboundMessage) -> bytes:
    try:
        return message.as_bytes(policy=policy.SMTP)
    except Exception:  # a rebuilt message with odd content: the compat serializer is lenient
        return message.as_string(policy=policy.compat32).encode("utf-8", "surrogateescape")


def spam_reason(message: AnymailInboundMessage, esp_name: str) -> str:
    if not message.spam_detected:
        return ""
    score = f" (score {message.spam_score:g})" if message.spam_score is not None else ""
    return f"{esp_name} judged it spam{score}"


def forget_erased_author(sender: Any, learner: Any, name: str = "", address: str = "",
                         aliases: tuple[str, ...] = (), **kwargs: Any) -> None:
    """"Delete my data" also takes the person's name and addresses (their own and their other
    ones) out of the posts they wrote, and deletes what they sent while it was held."""
    from mmooc.lists import aliases as also_me
    from mmooc.lists.erasure import forget_author

    also_me.forget_held(learner.cohort_id, [address, *aliases])
    forget_author(learner.pk, name, address, others=aliases)
