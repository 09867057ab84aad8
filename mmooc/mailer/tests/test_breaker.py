"""The circuit breaker per domain: a domain whose servers keep refusing our copies for
policy or reputation is paused for a while; its copies wait without using up attempts,
every other domain goes on, and staff see the pause on every page and may lift it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.audit.models import AuditEntry
from mmooc.mailer import bounces, breaker, engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient

pytestmark = pytest.mark.django_db

BLOCKING = "blocking.example"
REFUSAL = "554 5.7.1 Service unavailable; client host [192.0.2.1] blocked using zen.spamhaus.org"


@pytest.fixture
def smtp(smtp, settings):
    settings.MAIL_BATCH_SIZE = 10
    settings.MAIL_DOMAIN_PAUSE_AFTER = 5
    settings.MAIL_DOMAIN_PAUSE_WINDOW = 600
    settings.MAIL_DOMAIN_PAUSE_SECONDS = 3600
    return smtp


def queue(addresses: list[str]) -> Message:
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1", body="Hello",
                         list_id="py-3.announce.example.org")
    outbox.enqueue(msg, [Recipient(a, {"unsubscribe_url": "https://x/u/1"}) for a in addresses])
    return msg


def mixed(n: int) -> list[str]:
    """n addresses at the refusing domain, each followed by one elsewhere."""
    return [a for i in range(n) for a in (f"b{i}@{BLOCKING}", f"f{i}@fine.example")]


def test_policy_refusals_pause_the_domain_and_its_other_copies_wait_without_using_attempts(smtp):
    smtp.rcpt_reply = lambda address: REFUSAL if address.endswith("@" + BLOCKING) else None
    msg = queue(mixed(15))
    engine.drain()
    rows = {d.recipient: d for d in msg.deliveries.all()}
    refused = [d for a, d in rows.items() if a.endswith(BLOCKING) and d.status == Delivery.FAILED]
    held = [d for a, d in rows.items() if a.endswith(BLOCKING) and d.status == Delivery.DEFERRED]
    # The claim takes due rows in no set order: the first batch of 10 held from 5 to 10 refusals,
    # and the domain was paused after it; none of its copies was tried after that.
    assert 5 <= len(refused) <= 10 and len(refused) + len(held) == 15, (len(refused), len(held))
    assert all(d.attempts == 0 and d.not_before > timezone.now() + timedelta(minutes=59) for d in held)
    assert all("sending to blocking.example is paused" in d.last_error for d in held)
    # Every other domain went on.
    assert {d.status for a, d in rows.items() if a.endswith("fine.example")} == {Delivery.SENT}
    assert set(breaker.paused()) == {BLOCKING}
    entry = AuditEntry.objects.get(action=breaker.PAUSED)
    assert entry.details["domain"] == BLOCKING and entry.details["refusals"] == len(refused)
    assert "blocked using zen.spamhaus.org" in entry.details["last_reply"]
    assert not [r for r in AuditEntry.objects.all() if "@" in str(r.details)]
    # After the pause the held copies are tried again (the server has relented).
    smtp.rcpt_reply = None
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assert not breaker.paused()
        engine.drain()
    assert msg.deliveries.filter(status=Delivery.SENT).count() == 30 - len(refused)  # every held one, now
    assert AuditEntry.objects.filter(action=breaker.PAUSED).count() == 1


def test_temporary_refusals_for_policy_count_too_and_the_log_names_no_address(smtp, caplog):
    smtp.rcpt_reply = lambda address: (f"450 4.7.1 <{address}>: Service temporarily unavailable: unusual rate of mail"
                                       if address.endswith("@" + BLOCKING) else None)
    queue(mixed(8))
    engine.drain()
    assert set(breaker.paused()) == {BLOCKING}
    paused = [r.getMessage() for r in caplog.records if "paused for" in r.getMessage()]
    assert paused and not any("@" in line for line in paused)


@pytest.mark.parametrize("reply", [
    "550 5.1.1 <x@blocking.example>: Recipient address rejected: User unknown",
    "452 4.2.2 Mailbox full",
    "451 4.3.0 Temporary lookup failure",
])
def test_refusals_about_the_mailbox_or_the_server_do_not_pause(smtp, reply):
    smtp.rcpt_reply = lambda address: reply if address.endswith("@" + BLOCKING) else None
    queue(mixed(12))
    engine.drain()
    assert breaker.paused() == {} and not AuditEntry.objects.filter(action=breaker.PAUSED).exists()


def test_a_limit_of_zero_turns_the_breaker_off(smtp, settings):
    settings.MAIL_DOMAIN_PAUSE_AFTER = 0
    smtp.rcpt_reply = lambda address: REFUSAL if address.endswith("@" + BLOCKING) else None
    msg = queue(mixed(12))
    engine.drain()
    assert breaker.paused() == {}
    assert msg.deliveries.filter(recipient__endswith=BLOCKING, status=Delivery.FAILED).count() == 12


def test_refusals_spread_over_more_than_the_window_do_not_pause(smtp):
    smtp.rcpt_reply = lambda address: REFUSAL if address.endswith("@" + BLOCKING) else None
    for minutes in (0, 11, 22):
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False):
            queue([f"b{minutes}-{i}@{BLOCKING}" for i in range(4)])
            engine.drain()
    assert breaker.paused() == {}


def test_staff_see_the_pause_on_every_page_and_an_organizer_may_resume(smtp, client, organizer, facilitator):
    breaker.note([(f"b{i}@{BLOCKING}", REFUSAL) for i in range(5)])
    client.force_login(organizer)
    for page in ("/dashboard/", "/dashboard/suppressions/", "/outbox/"):
        body = client.get(page).content.decode()
        assert "Sending paused" in body and BLOCKING in body, page
    client.force_login(facilitator)
    body = client.get("/dashboard/").content.decode()
    assert "Sending paused" in body and BLOCKING in body
    assert client.post("/dashboard/suppressions/resume-domain", {"domain": BLOCKING}).status_code == 403
    assert set(breaker.paused()) == {BLOCKING}

    client.force_login(organizer)
    response = client.post("/dashboard/suppressions/resume-domain", {"domain": BLOCKING})
    assert response.status_code == 302 and breaker.paused() == {}
    entry = AuditEntry.objects.get(action=breaker.RESUMED)
    assert (entry.actor, entry.details["domain"]) == (organizer, BLOCKING)
    assert "Sending paused" not in client.get("/dashboard/").content.decode()


@pytest.mark.parametrize("domain", ["", "not-paused.example", "x" * 5000, "<script>alert(1)</script>"])
def test_resuming_a_domain_that_is_not_paused_changes_nothing(smtp, client, organizer, domain):
    breaker.note([(f"b{i}@{BLOCKING}", REFUSAL) for i in range(5)])
    client.force_login(organizer)
    response = client.post("/dashboard/suppressions/resume-domain", {"domain": domain})
    assert response.status_code == 400 and b"is not paused" in response.content
    assert b"<script>alert(1)" not in response.content
    assert set(breaker.paused()) == {BLOCKING} and not AuditEntry.objects.filter(action=breaker.RESUMED).exists()


@pytest.mark.parametrize(("reply", "policy"), [
    ("554 5.7.1 Service unavailable; client host blocked", True),
    ("550 5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy", True),
    ("421 4.7.28 Our system has detected an unusual rate of unsolicited mail", True),
    ("550 Message rejected as spam", True),
    ("550 5.1.1 User unknown", False),
    ("550 5.1.1 <spamfan@blocked.example>: Recipient address rejected: User unknown", False),
    ("452 4.2.2 Mailbox full", False),
    ("connection lost: timed out", False),
    ("", False),
    ("5.7.1 without a reply code", False),
])
def test_which_refusals_are_about_policy(reply, policy):
    assert bounces.is_policy_refusal(reply) is policy
