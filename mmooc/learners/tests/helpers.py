"""Reading what the learners app queued in the outbox, as a learner would receive it."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

from mmooc.mailer import engine
from mmooc.mailer.models import Delivery


def deliveries(address: str, tag: str | None = None):
    qs = Delivery.objects.filter(recipient__iexact=address).select_related("message").order_by("id")
    return qs.filter(message__tag=tag) if tag else qs


def received_text(address: str, tag: str) -> str:
    """Run the outbox engine, then the text part of the newest `tag` message to `address`."""
    engine.drain()
    delivery = deliveries(address, tag).last()
    assert delivery is not None, f"no {tag} email to {address}"
    assert delivery.stored, f"the {tag} email to {address} was not delivered: {delivery.status}"
    msg = message_from_bytes(bytes(delivery.stored), policy=policy.default)
    return msg.get_body(preferencelist=("plain",)).get_content()


def link_in(text: str, prefix: str) -> str:
    match = re.search(r"(https?://\S+/" + re.escape(prefix) + r"/[A-Za-z0-9_.:-]+)", text)
    assert match, f"no /{prefix}/ link in:\n{text}"
    return match.group(1)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)
