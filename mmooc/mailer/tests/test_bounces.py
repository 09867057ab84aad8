"""Bounces arriving by mail at the VERP return path (mmooc.mailer.bounces.handle_bounce)."""

from __future__ import annotations

import pytest
import time_machine

from mmooc.lib.tests import test_dsn as samples
from mmooc.mailer import bounces, outbox, signals, verp
from mmooc.mailer.models import Delivery, Event, Message, Suppression

pytestmark = pytest.mark.django_db


def sent(address: str = "jane@example.com", raw: bytes | None = None) -> Delivery:
    if raw is None:
        message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Week 1", body="Hello")
    else:
        message = outbox.compose_raw(raw=raw)
    outbox.enqueue(message, [outbox.Recipient(address)])
    return message.deliveries.get()


def bounce_to(delivery: Delivery, raw: bytes) -> None:
    bounces.handle_bounce(raw.replace(samples.RETURN_PATH.encode(), verp.make_bounce_address(delivery).encode()),
                          verp.make_bounce_address(delivery))


def test_it_knows_a_bounce_address():
    delivery = sent()
    assert bounces.is_bounce_address(verp.make_bounce_address(delivery))
    assert not bounces.is_bounce_address("py-3-group-12@lists.course.example.org")


def test_it_suppresses_on_a_postfix_hard_bounce():
    delivery = sent()
    bounce_to(delivery, samples.postfix())
    row = Suppression.objects.get()
    assert (row.address, row.reason) == ("jane@example.com", Suppression.HARD_BOUNCE)
    assert "5.1.1" in row.detail


def test_it_stores_the_event_on_the_delivery():
    delivery = sent()
    bounce_to(delivery, samples.postfix())
    event = Event.objects.get()
    assert (event.provider, event.event_type, event.delivery) == ("dsn", "bounced", delivery)
    assert event.raw["status"] == "5.1.1" and event.raw["reporting_mta"] == "dns; mail.example.net"


@pytest.mark.parametrize("make, address", [(samples.exim, "bob@example.net"),
                                           (samples.gmail, "nobody.here@gmail.com"),
                                           (samples.microsoft, "jdoe@contoso.com")])
def test_it_suppresses_on_hard_bounces_from_other_servers(make, address):
    bounce_to(sent(address), make())
    assert Suppression.objects.get().address == address


def test_it_suppresses_the_address_we_sent_to_when_the_report_names_another():
    # The learner's address forwards elsewhere; the bounce names the final mailbox.
    delivery = sent("jane@alumni.example.org")
    bounce_to(delivery, samples.postfix(to="jane.smith@example.com"))
    assert Suppression.objects.get().address == "jane@alumni.example.org"


def test_it_counts_a_delay_without_suppressing():
    bounce_to(sent(), samples.postfix_delayed())
    event = Event.objects.get()
    assert (event.event_type, event.raw["verdict"]) == ("deferred", "soft-bounce")
    assert not Suppression.objects.exists()


@time_machine.travel("2024-03-04T10:00:00Z", tick=False)
def test_it_suppresses_after_five_delays_on_five_messages():
    for _ in range(5):
        bounce_to(sent(), samples.postfix_delayed())
    assert Suppression.objects.get().reason == Suppression.SOFT_BOUNCES


def test_it_stores_a_repeated_bounce_once():
    delivery = sent()
    bounce_to(delivery, samples.postfix_delayed())
    bounce_to(delivery, samples.postfix_delayed())
    assert Event.objects.count() == 1


def test_it_keeps_a_text_bounce_without_acting():
    bounce_to(sent(), samples.text_bounce())
    event = Event.objects.get()
    assert (event.event_type, event.raw["verdict"]) == ("bounced", "")
    assert not Suppression.objects.exists()


def test_it_files_an_auto_reply_as_such():
    bounce_to(sent(), samples.vacation())
    assert Event.objects.get().event_type == "autoresponded"
    assert not Suppression.objects.exists()


def test_it_does_not_act_on_a_forged_token():
    sent()
    forged = "bounces+1-0000000000000000@lists.course.example.org"
    bounces.handle_bounce(samples.postfix(message_id="<unknown@elsewhere.example>"), forged)
    assert Event.objects.get().delivery is None
    assert not Suppression.objects.exists()


def test_it_matches_by_our_message_id_when_the_token_is_lost():
    delivery = sent()
    bounces.handle_bounce(samples.postfix(message_id=delivery.header_message_id()),
                          "bounces@lists.course.example.org")
    assert Event.objects.get().delivery == delivery
    assert Suppression.objects.get().address == "jane@example.com"


@pytest.mark.parametrize("shown", [str.upper, lambda i: i.strip("<>"), lambda i: f"  {i} "],
                         ids=["capitals", "no-brackets", "spaces"])
def test_it_matches_a_message_id_made_from_the_ids_however_it_comes_back(shown):
    delivery = sent()
    made = delivery.header_message_id()
    assert delivery.rfc_message_id == "" and made == delivery.message.copy_message_id(delivery.pk)
    bounces.handle_bounce(samples.postfix(message_id=shown(made)), "bounces@lists.course.example.org")
    assert Event.objects.get().delivery == delivery


def test_it_matches_a_message_id_kept_in_the_row_from_before_ids_were_made():
    delivery = sent()
    Delivery.objects.filter(pk=delivery.pk).update(rfc_message_id="<19a0c2f1e3b4d5e6f7a8b9c0d1e2.0@course.example.org>")
    bounces.handle_bounce(samples.postfix(message_id="<19a0c2f1e3b4d5e6f7a8b9c0d1e2.0@course.example.org>"),
                          "bounces@lists.course.example.org")
    assert Event.objects.get().delivery == delivery


@pytest.mark.parametrize("forge", [
    lambda d, other: other.message.copy_message_id(d.pk),  # another message's public id, this copy's id
    lambda d, other: d.message.copy_message_id(other.pk),  # this message's public id, another's copy
    lambda d, other: d.message.copy_message_id(d.pk).replace(".", ".f", 1),  # a copy that does not exist
    lambda d, other: f"<{'0' * 32}.{'f' * 40}@course.example.org>",  # an id too large for any copy
], ids=["other-message", "other-copy", "no-such-copy", "huge"])
def test_a_made_up_message_id_matches_no_copy(forge):
    delivery, other = sent(), sent("other@example.com")
    Delivery.objects.filter(pk=other.pk).update(rfc_message_id="<kept@example.org>")
    bounces.handle_bounce(samples.postfix(message_id=forge(delivery, other)), "bounces@lists.course.example.org")
    assert Event.objects.get().delivery is None
    assert not Suppression.objects.exists()


def test_it_does_not_match_a_relayed_post_by_its_shared_message_id():
    # Every group member knows the author's Message-ID; it must not let one suppress another.
    post = b"From: Al <al@example.org>\r\nMessage-ID: <post-1@example.org>\r\nSubject: Hi\r\n\r\nHello\r\n"
    delivery = sent("jane@example.com", raw=post)
    bounces.handle_bounce(samples.postfix(message_id=delivery.header_message_id()),
                          "bounces@lists.course.example.org")
    assert Event.objects.get().delivery is None
    assert not Suppression.objects.exists()


def test_it_never_suppresses_on_garbage():
    delivery = sent()
    for raw in (b"", b"\xff\xfe\x00garbage", b"Content-Type: multipart/report; boundary=\n\n--\n" * 50):
        bounces.handle_bounce(raw, verp.make_bounce_address(delivery))
    assert not Suppression.objects.exists()
    assert Event.objects.filter(delivery=delivery).count() == 3


def test_it_does_not_suppress_on_a_report_without_status():
    bounce_to(sent(), samples.postfix().replace(b"Status: 5.1.1\n", b""))
    assert not Suppression.objects.exists()


def test_it_sends_suppressed_for_a_hard_bounce():
    heard: list[str] = []
    signals.suppressed.connect(lambda sender, suppression, **kw: heard.append(suppression.address),
                               weak=False, dispatch_uid="t-bounce-s")
    try:
        bounce_to(sent(), samples.postfix())
    finally:
        signals.suppressed.disconnect(dispatch_uid="t-bounce-s")
    assert heard == ["jane@example.com"]


def test_it_stores_a_bounce_with_nul_and_8bit_bytes_in_its_fields():
    delivery = sent()
    raw = samples.postfix().replace(b"Recipient address\n    rejected", b"Recipient \x00\xff\xfe address\n    rejected")
    raw = raw.replace(b"Subject: Undelivered Mail", b"Subject: \xc3\x28\x00 Undelivered Mail")
    bounce_to(delivery, raw)
    event = Event.objects.get()
    assert "\x00" not in event.description and "\x00" not in event.raw["subject"]
    assert Suppression.objects.get().address == "jane@example.com"


def test_it_stores_an_envelope_recipient_with_control_characters():
    bounces.handle_bounce(samples.text_bounce(), "bounces+\x00zz@lists.course.example.org")
    assert "\x00" not in Event.objects.get().raw["envelope_recipient"]


def test_it_matches_by_an_envelope_id_holding_the_token():
    delivery = sent()
    raw = samples.postfix().replace(b"Reporting-MTA: dns; mail.example.net\n",
                                    b"Reporting-MTA: dns; mail.example.net\nOriginal-Envelope-Id: "
                                    + verp.token(delivery.pk).encode() + b"\n")
    bounces.handle_bounce(raw, "bounces@lists.course.example.org")
    assert Event.objects.get().delivery == delivery


UNSUBSCRIBE_MAIL = b"From: Jane <jane@example.com>\r\nSubject: unsubscribe\r\n\r\nThis is an unsubscribe request.\r\n"


def test_it_passes_on_an_unsubscribe_by_mail_once():
    delivery = sent()
    address = verp.make_unsubscribe_address(delivery)
    heard: list[tuple] = []
    signals.unsubscribed.connect(lambda sender, **kw: heard.append((kw["address"], kw["delivery"], kw["source"])),
                                 weak=False, dispatch_uid="t-mailto")
    try:
        assert bounces.is_unsubscribe_address(address)
        assert bounces.handle_unsubscribe(UNSUBSCRIBE_MAIL, address)
        assert bounces.handle_unsubscribe(UNSUBSCRIBE_MAIL, address)
    finally:
        signals.unsubscribed.disconnect(dispatch_uid="t-mailto")
    assert heard == [("jane@example.com", delivery, "mailto")]
    assert not Suppression.objects.exists()


def test_it_ignores_an_unsubscribe_by_mail_with_a_forged_token():
    sent()
    assert not bounces.handle_unsubscribe(UNSUBSCRIBE_MAIL, "unsubscribe+1-0000000000000000@lists.course.example.org")
    assert not Event.objects.exists()


@time_machine.travel("2024-03-04T10:00:00Z", tick=False)
def test_it_counts_delays_for_a_forwarded_address_under_the_address_we_sent_to():
    for _ in range(5):
        bounce_to(sent("jane@alumni.example.org"), samples.postfix(action="delayed", status="4.2.2",
                                                                   to="jane.smith@example.com"))
    assert Suppression.objects.get().address == "jane@alumni.example.org"
