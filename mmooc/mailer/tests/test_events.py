"""Storing, matching and acting on provider events (mmooc.mailer.events)."""

from __future__ import annotations

import json

import pytest
from anymail.signals import AnymailTrackingEvent
from django.test import Client

from mmooc.mailer import events, outbox, signals
from mmooc.mailer.models import Delivery, Event, Message, Suppression
from mmooc.testing.webhook_cases import basic_auth

pytestmark = pytest.mark.django_db


def sent(addresses: list[str], provider_id: str = "") -> list[Delivery]:
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(message, [outbox.Recipient(a) for a in addresses])
    if provider_id:
        message.deliveries.update(provider_id=provider_id, status=Delivery.SENT)
    return list(message.deliveries.order_by("recipient"))


def tracking(event_type: str, recipient: str = "ann@example.org", message_id: str = "pm-1",
             event_id: str = "ev-1", **kw: object) -> AnymailTrackingEvent:
    esp_event = kw.pop("esp_event", {"RecordType": "Test", "Email": recipient})
    return AnymailTrackingEvent(event_type=event_type, recipient=recipient, message_id=message_id,
                                event_id=event_id, esp_event=esp_event, **kw)


def test_it_matches_on_provider_id_and_recipient_in_a_batch():
    ann, bob = sent(["ann@example.org", "bob@example.org"], provider_id="batch-7")
    event = events.record_event("mailgun", tracking("delivered", "bob@example.org", "batch-7"))
    assert event.delivery == bob


def test_it_matches_recipients_whatever_their_case():
    (ann,) = sent(["Ann@Example.org"], provider_id="pm-1")
    assert events.record_event("postmark", tracking("opened", "ann@example.org")).delivery == ann


def test_it_falls_back_to_our_own_message_id():
    (ann,) = sent(["ann@example.org"])
    event = events.record_event("sendgrid", tracking("delivered", message_id=ann.header_message_id()))
    assert event.delivery == ann


def test_it_matches_our_message_id_made_from_the_ids():
    ann, bob = sent(["ann@example.org", "bob@example.org"])
    made = bob.header_message_id()
    assert bob.rfc_message_id == "" and made != ann.header_message_id()
    assert events.match_delivery(made.strip("<>"), "BOB@example.org") == bob
    assert events.match_delivery(made, "ann@example.org") is None  # bob's id, ann's address
    assert events.match_delivery(made, "") == bob  # an id naming one copy, as before


def test_it_keeps_an_event_it_cannot_match_and_counts_it():
    events.record_event("postmark", tracking("opened", message_id="nobody-knows"))
    assert Event.objects.get().delivery is None
    assert events.unmatched_count() == 1


def test_it_ignores_an_event_id_it_already_has():
    events.record_event("postmark", tracking("bounced", mta_response="550 5.1.1 unknown"))
    assert events.record_event("postmark", tracking("bounced", mta_response="550 5.1.1 unknown")) is None
    assert Event.objects.count() == 1


def test_it_tells_apart_events_without_ids_by_their_content():
    events.record_event("postmark", tracking("opened", event_id="", esp_event={"n": 1}))
    events.record_event("postmark", tracking("opened", event_id="", esp_event={"n": 2}))
    events.record_event("postmark", tracking("opened", event_id="", esp_event={"n": 2}))
    assert Event.objects.count() == 2


def test_it_stores_unknown_event_types_with_the_raw_event():
    events.record_event("brevo", tracking("unknown", esp_event={"event": "brand_new", "x": [1, 2]}))
    event = Event.objects.get()
    assert (event.event_type, event.raw["esp_event"]) == ("unknown", {"event": "brand_new", "x": [1, 2]})


def test_it_does_not_suppress_a_rejection_about_our_own_account():
    # Mailgun's documented "rejected" event: a sandbox domain, nothing to do with the address.
    events.record_event("mailgun", tracking("rejected", reject_reason="other",
                                            description="Sandbox subdomains are for test purposes only."))
    assert not Suppression.objects.exists()


def test_it_suppresses_a_rejection_for_an_invalid_address():
    events.record_event("postmark", tracking("rejected", reject_reason="invalid",
                                             esp_event={"Type": "BadEmailAddress"}))
    assert Suppression.objects.get().reason == Suppression.HARD_BOUNCE


def test_it_counts_a_bounce_whose_reply_is_temporary():
    events.record_event("sparkpost", tracking("bounced", mta_response="452 4.2.2 Mailbox full"))
    assert not Suppression.objects.exists()
    assert Event.objects.get().raw["verdict"] == "soft-bounce"


def test_it_does_not_suppress_at_once_for_a_policy_refusal():
    # 5.7.x speaks of our message or domain (say, a DMARC failure), not of the address.
    events.record_event("mailgun", tracking("bounced", mta_response="550 5.7.26 Unauthenticated email"))
    assert not Suppression.objects.exists()


def test_it_passes_on_an_unsubscribe_without_suppressing_all_mail():
    heard: list[dict] = []
    signals.unsubscribed.connect(lambda sender, **kw: heard.append(kw), weak=False, dispatch_uid="t-ev-u")
    try:
        events.record_event("mailgun", tracking("unsubscribed"))
    finally:
        signals.unsubscribed.disconnect(dispatch_uid="t-ev-u")
    assert [(h["address"], h["source"], h["delivery"]) for h in heard] == [("ann@example.org", "mailgun", None)]
    assert not Suppression.objects.exists()


def test_it_sends_suppressed_when_an_address_is_added():
    heard: list[Suppression] = []
    signals.suppressed.connect(lambda sender, suppression, **kw: heard.append(suppression), weak=False,
                               dispatch_uid="t-ev-s")
    try:
        events.record_event("postmark", tracking("complained"))
    finally:
        signals.suppressed.disconnect(dispatch_uid="t-ev-s")
    assert [s.address for s in heard] == ["ann@example.org"]


@pytest.mark.usefixtures("anymail_settings")
def test_it_answers_500_and_keeps_nothing_when_acting_fails():
    def broken(sender, **kwargs):
        raise RuntimeError("the learners app is down")

    signals.suppressed.connect(broken, weak=False, dispatch_uid="t-ev-broken")
    client = Client(raise_request_exception=False)
    payload = {"RecordType": "Bounce", "ID": 77, "Type": "HardBounce", "MessageID": "x-1",
               "Email": "ann@example.org", "BouncedAt": "2024-05-01T10:00:00Z", "Details": "550 5.1.1"}
    try:
        response = client.post("/anymail/postmark/tracking/", data=json.dumps(payload),
                               content_type="application/json",
                               **basic_auth())
    finally:
        signals.suppressed.disconnect(dispatch_uid="t-ev-broken")
    assert response.status_code == 500
    assert not Event.objects.exists() and not Suppression.objects.exists()


def test_it_stores_an_event_with_nul_characters_and_lone_surrogates():
    events.record_event("postmark", tracking("bounced", mta_response="550 5.1.1 \x00 gone \ud800",
                                             esp_event={"Details": "a\x00b\udcff", "k\x00": ["\x00"]}))
    event = Event.objects.get()
    assert event.raw["esp_event"] == {"Details": "ab?", "k": [""]}
    assert "\x00" not in event.description


def test_it_stores_an_event_whose_json_holds_numbers_json_has_no_words_for():
    """Python's JSON reader takes Infinity and NaN, which PostgreSQL's JSON refuses: a provider
    (or anyone) sending them got a 500 and a retry forever. They are kept as text."""
    events.record_event("postmark", tracking("bounced", esp_event={"": float("inf"), "n": [float("nan")],
                                                                   "m": float("-inf"), "ok": 1.5}))
    event = Event.objects.get()
    assert event.raw["esp_event"] == {"": "Infinity", "n": ["NaN"], "m": "-Infinity", "ok": 1.5}


@pytest.mark.parametrize(("odd", "status"), [
    ({"Details": float("inf")}, 200), ({"Details": 550}, 200), ({"SuppressionReason": [1], "Type": None}, 200),
    ({"Type": ["SoftBounce"]}, 400), ({"Type": {"a": 1}}, 400)])
def test_a_webhook_body_with_values_of_unexpected_kinds_is_answered_not_a_500(client, odd, status):
    """Postmark documents text for these fields. A body with a number, a list or an object in
    their place is stored and judged as a plain hard bounce, or, where the provider library
    cannot read it, refused with a 400 that changes nothing; never an error."""
    payload = {"RecordType": "Bounce", "ID": 78, "Type": "HardBounce", "MessageID": "x-2",
               "Email": "ann@example.org", "BouncedAt": "2024-05-01T10:00:00Z", "Details": "", **odd}
    client.raise_request_exception = False
    response = client.post("/anymail/postmark/tracking/", data=json.dumps(payload), content_type="application/json",
                           **basic_auth())
    assert response.status_code == status
    if status == 200:
        assert Event.objects.get().raw["verdict"] == events.HARD
    else:
        assert not Event.objects.exists() and not Suppression.objects.exists()


def test_an_unsubscribe_stops_all_mail_only_when_postmark_says_true():
    events.record_event("postmark", tracking("unsubscribed", esp_event={"SuppressSending": "false"}))
    assert Event.objects.get().raw["all_mail"] is False
