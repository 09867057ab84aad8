"""A 5xx from our own SMTP server while sending: a mailbox that does not exist is
suppressed like a hard-bounce DSN; a policy or reputation refusal leaves the address."""

from __future__ import annotations

import pytest

from mmooc.mailer import bounces, engine, outbox
from mmooc.mailer.events import HARD, NONE
from mmooc.mailer.models import Delivery, Event, Message, Suppression
from mmooc.mailer.outbox import Recipient

pytestmark = pytest.mark.django_db

GONE, BLOCKED, FINE = "gone@example.org", "blocked@example.net", "fine@example.org"


def queue(*addresses: str, subject: str = "Week 1") -> Message:
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject=subject, body="Hello",
                         list_id="py-3.announce.example.org")
    outbox.enqueue(msg, [Recipient(a, {"unsubscribe_url": "https://x/u/1"}) for a in addresses])
    return msg


def test_550_5_1_1_at_rcpt_suppresses_and_554_5_7_1_does_not(smtp):
    answers = {GONE: "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown in local "
                     "recipient table",
               BLOCKED: "554 5.7.1 Service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org"}
    smtp.rcpt_reply = answers.get
    msg = queue(GONE, BLOCKED, FINE)
    assert engine.drain() == 3
    statuses = dict(msg.deliveries.values_list("recipient", "status"))
    assert statuses == {GONE: Delivery.FAILED, BLOCKED: Delivery.FAILED, FINE: Delivery.SENT}
    row = Suppression.objects.get()
    assert (row.address, row.reason) == (GONE, Suppression.HARD_BOUNCE)
    assert "550 5.1.1" in row.detail and row.detail.startswith("smtp:")
    # Both refusals are kept as bounce events of their copies; only one acted on the address.
    events = {e.recipient: e for e in Event.objects.filter(provider="smtp")}
    assert events[GONE].raw["verdict"] == HARD and events[BLOCKED].raw["verdict"] == NONE
    assert events[GONE].delivery == msg.deliveries.get(recipient=GONE)
    # The next course email skips the dead address and still tries the blocked one.
    smtp.rcpt_reply = None
    later = queue(GONE, BLOCKED, FINE, subject="Week 2")
    engine.drain()
    assert later.deliveries.get(recipient=GONE).status == Delivery.SUPPRESSED
    assert {r.rcpt_tos[0] for r in smtp.received if r.message["Subject"] == "Week 2"} == {BLOCKED, FINE}


def test_550_5_1_1_after_data_suppresses_too(smtp):
    smtp.reply = lambda env: "550 5.1.1 mailbox does not exist" if env.rcpt_tos == [GONE] else None
    queue(GONE, FINE)
    engine.drain()
    assert list(Suppression.objects.values_list("address", "reason")) == [(GONE, Suppression.HARD_BOUNCE)]


def test_a_temporary_refusal_suppresses_nobody(smtp):
    smtp.rcpt_reply = lambda address: "450 4.1.1 <gone@example.org>: Recipient address rejected: try later"
    msg = queue(GONE)
    engine.drain()
    assert msg.deliveries.get().status == Delivery.DEFERRED
    assert not Suppression.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(("reply", "verdict"), [
    ("550 5.1.1 <a@example.org>: Recipient address rejected: User unknown", HARD),
    ("550 5.1.1 <spam.sender@blocklist.example>: Recipient address rejected: User unknown", HARD),
    ("550 5.1.1 The email account that you tried to reach does not exist.\n5.1.1 Please try double-checking", HARD),
    ("550 5.1.2 Host unknown", HARD),
    ("553 5.1.3 Bad recipient address syntax", HARD),
    ("550 5.1.10 Null MX", HARD),
    ("550 5.2.1 The email account that you tried to reach is disabled", HARD),
    ("550 no such user here", HARD),
    ("550 User unknown", HARD),
    ("551 mailbox does not exist", HARD),
    # Policy, reputation, or about our sender or the message: the address stays.
    ("554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org", NONE),
    ("550 5.7.1 Message rejected as spam", NONE),
    ("550 5.7.26 Unauthenticated email is not accepted (DMARC policy)", NONE),
    ("550 5.1.1 blocked by local policy", NONE),
    ("553 5.1.8 <bounces+x@list.example.org>: Sender address rejected: Domain not found", NONE),
    ("550 5.1.0 Sender address rejected", NONE),
    ("550 5.1.7 bad sender mailbox syntax", NONE),
    ("552 5.2.2 Mailbox full", NONE),
    ("552 5.3.4 Message size exceeds fixed limit", NONE),
    ("554 5.6.0 Message content rejected", NONE),
    ("550 unknown error", NONE),
    ("550 Requested action not taken: spam detected", NONE),
    ("554 Transaction failed", NONE),
    ("450 4.1.1 user unknown, try later", NONE),
    ("not an SMTP reply: 550 5.1.1", NONE),
    ("", NONE),
])
def test_the_code_table(reply, verdict):
    assert bounces.refusal_verdict(reply) == verdict
