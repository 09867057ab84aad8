"""The provider path, against each provider's HTTP API as its documentation answers it."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient

pytestmark = pytest.mark.django_db
MAILGUN_OK = {"id": "<20111114174239.25659.5817@samples.mailgun.org>", "message": "Queued. Thank you."}
# SendGrid v3 mail/send answers 202 Accepted with an empty body.
SENDGRID_OK = ""
SPARKPOST_OK = {"results": {"total_rejected_recipients": 0, "total_accepted_recipients": 5,
                            "id": "11668787484950529"}}
POSTMARK_OK = {"To": "l0@example.org", "SubmittedAt": "2014-02-17T07:25:01.4178645-05:00",
               "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d", "ErrorCode": 0, "Message": "OK"}


class FakeAPI:
    """Stands in for the provider's HTTP endpoint at the requests.Session level."""

    def __init__(self, status: int, payload) -> None:
        self.status, self.payload, self.calls = status, payload, []

    def __call__(self, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, **kwargs})
        response = requests.Response()
        response.status_code = self.status
        payload = self.payload(kwargs) if callable(self.payload) else self.payload
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = url
        return response


@pytest.fixture
def provider(settings, monkeypatch):
    def use(name: str, status: int, payload) -> FakeAPI:
        settings.EMAIL_CONFIG = parse_email_url(f"anymail:{name}")
        settings.EMAIL_BACKEND = settings.EMAIL_CONFIG.backend
        settings.ANYMAIL = {"MAILGUN_API_KEY": "key-test", "MAILGUN_SENDER_DOMAIN": "mg.example.org",
                            "POSTMARK_SERVER_TOKEN": "server-token", "SENDGRID_API_KEY": "SG.test",
                            "SPARKPOST_API_KEY": "sp-test"}
        settings.MAIL_RATE_LIMIT = 0
        api = FakeAPI(status, payload)
        monkeypatch.setattr(requests.Session, "request",
                            lambda session, method, url, **kw: api(method, url, **kw))
        return api

    return use


def queue(n: int) -> Message:
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1, {{ name }}", body="Hello **{{ name }}**",
                         list_id="py-3.announce.example.org", tag="course-email")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {"name": f"L<{i}>", "unsubscribe_url": f"https://x/u/{i}"})
                         for i in range(n)])
    return msg


def test_mailgun_gets_one_call_per_batch_with_per_recipient_variables(provider):
    api = provider("mailgun", 200, MAILGUN_OK)
    msg = queue(5)
    assert engine.drain() == 5
    assert len(api.calls) == 1
    data = dict(api.calls[0]["data"])
    variables = json.loads(data["recipient-variables"])
    assert set(variables) == {f"l{i}@example.org" for i in range(5)}
    assert variables["l3@example.org"]["t0"] == "L<3>" and variables["l3@example.org"]["h0"] == "L&lt;3&gt;"
    assert variables["l3@example.org"]["h:List-Unsubscribe"].startswith("<https://x/u/3>, <mailto:")
    assert "%recipient." in data["subject"] and "%recipient." in data["html"]
    assert outbox.progress(msg)[Delivery.SENT] == 5
    assert set(msg.deliveries.values_list("provider_id", flat=True)) == {MAILGUN_OK["id"]}


def test_mailgun_rate_limiting_defers_the_batch(provider):
    provider("mailgun", 429, {"message": "Too Many Requests"})
    msg = queue(2)
    engine.drain()
    assert outbox.progress(msg)[Delivery.DEFERRED] == 2


def test_mailgun_rejecting_the_call_fails_it_with_the_reason(provider):
    provider("mailgun", 400, {"message": "'to' parameter is not a valid address. please check documentation"})
    msg = queue(2)
    engine.drain()
    d = msg.deliveries.first()
    assert d.status == Delivery.FAILED and "400" in d.last_error


def test_postmark_gets_one_batch_call_with_each_copy_whole(provider):
    # Postmark's batch answer has one entry per message, in order, each naming its recipient.
    api = provider("postmark", 200, lambda request: [
        {**POSTMARK_OK, "To": m["To"], "MessageID": f"{i}-{POSTMARK_OK['MessageID']}"}
        for i, m in enumerate(json.loads(request["data"]))])
    msg = queue(2)
    engine.drain()
    assert len(api.calls) == 1 and api.calls[0]["url"].endswith("/email/batch")
    body = json.loads(api.calls[0]["data"])
    by_to = {m["To"]: m for m in body}
    assert sorted(by_to) == ["l0@example.org", "l1@example.org"]
    headers = {h["Name"]: h["Value"] for h in by_to["l0@example.org"]["Headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"] == msg.deliveries.get(recipient="l0@example.org").header_message_id()
    assert by_to["l1@example.org"]["Subject"] == "Week 1, L<1>"
    # each answer goes to the copy in its place in the batch
    assert dict(msg.deliveries.values_list("recipient", "provider_id")) == {
        m["To"]: f"{i}-{POSTMARK_OK['MessageID']}" for i, m in enumerate(body)}


def test_postmark_server_error_defers(provider):
    provider("postmark", 500, {"ErrorCode": 500, "Message": "Internal Server Error"})
    msg = queue(1)
    engine.drain()
    assert msg.deliveries.get().status == Delivery.DEFERRED


def test_it_sends_sendgrid_one_call_per_batch_with_personalizations(provider):
    api = provider("sendgrid", 202, SENDGRID_OK)
    msg = queue(5)
    assert engine.drain() == 5
    assert len(api.calls) == 1
    body = json.loads(api.calls[0]["data"])
    people = {p["to"][0]["email"]: p for p in body["personalizations"]}
    assert set(people) == {f"l{i}@example.org" for i in range(5)}
    three = people["l3@example.org"]
    assert three["substitutions"]["-mmooct0-"] == "L<3>"
    assert three["substitutions"]["-mmooch0-"] == "L&lt;3&gt;"
    assert three["headers"]["List-Unsubscribe"].startswith("<https://x/u/3>, <mailto:")
    assert three["headers"]["Message-ID"] == msg.deliveries.get(recipient="l3@example.org").header_message_id()
    assert "-mmooct0-" in body["subject"]
    assert "-mmooch0-" in {c["type"]: c["value"] for c in body["content"]}["text/html"]
    assert outbox.progress(msg)[Delivery.SENT] == 5
    ids = set(msg.deliveries.values_list("provider_id", flat=True))
    assert len(ids) == 5 and "" not in ids  # anymail's id per recipient, for matching events


def test_it_splits_sendgrid_batches_at_the_batch_size(provider, monkeypatch):
    from mmooc.mailer import transports

    monkeypatch.setitem(transports.BATCH_PROVIDERS, "sendgrid",
                        transports.Batch(2, "-mmooc{}-", {"merge_field_format": "-mmooc{}-"}))
    api = provider("sendgrid", 202, SENDGRID_OK)
    queue(5)
    engine.drain()
    assert [len(json.loads(c["data"])["personalizations"]) for c in api.calls] == [2, 2, 1]


def test_it_defers_a_sendgrid_batch_on_rate_limiting(provider):
    provider("sendgrid", 429, {"errors": [{"field": None, "message": "too many requests"}]})
    msg = queue(2)
    engine.drain()
    assert outbox.progress(msg)[Delivery.DEFERRED] == 2


def test_it_sends_sparkpost_one_transmission_per_batch_with_substitution_data(provider):
    api = provider("sparkpost", 200, SPARKPOST_OK)
    msg = queue(5)
    assert engine.drain() == 5
    assert len(api.calls) == 1
    body = json.loads(api.calls[0]["data"])
    people = {r["address"]["email"]: r for r in body["recipients"]}
    assert set(people) == {f"l{i}@example.org" for i in range(5)}
    data = people["l3@example.org"]["substitution_data"]
    assert data["t0"] == "L<3>" and data["h0"] == "L&lt;3&gt;"
    assert data["Header__List_Unsubscribe"].startswith("<https://x/u/3>, <mailto:")
    assert data["Header__Message_Id"] == msg.deliveries.get(recipient="l3@example.org").header_message_id()
    assert "{{{t0}}}" in body["content"]["subject"] and "{{{h0}}}" in body["content"]["html"]
    assert outbox.progress(msg)[Delivery.SENT] == 5
    assert set(msg.deliveries.values_list("provider_id", flat=True)) == {SPARKPOST_OK["results"]["id"]}


def test_it_sends_sparkpost_copies_singly_when_the_content_has_braces(provider):
    api = provider("sparkpost", 200, {"results": {**SPARKPOST_OK["results"], "total_accepted_recipients": 1}})
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Jinja week",
                         body="Write `{{ '{{' }} name }}` in the template", list_id="py-3.announce.example.org")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {"unsubscribe_url": f"https://x/u/{i}"}) for i in range(3)])
    engine.drain()
    assert len(api.calls) == 3
    assert all("substitution_data" not in r for c in api.calls for r in json.loads(c["data"])["recipients"])
    assert outbox.progress(msg)[Delivery.SENT] == 3


def test_the_provider_session_is_kept_across_batches_and_closed_when_idle(provider, settings):
    from mmooc.mailer.transports import for_config

    provider("mailgun", 200, MAILGUN_OK)
    queue(2)
    transport = for_config(settings.EMAIL_CONFIG)
    eng = engine.Engine(transport, use_lock=False, batch_size=1)
    eng.step()
    session = transport.connection.session
    eng.step()
    assert session is not None and transport.connection.session is session
    transport.close()
    assert transport.connection.session is None


def test_an_smtp_connection_kept_while_idle_is_checked_and_replaced_when_the_server_dropped_it(smtp_sink, settings):
    from mmooc.mailer.transports import for_config

    queue(2)
    transport = for_config(settings.EMAIL_CONFIG)
    eng = engine.Engine(transport, use_lock=False, batch_size=1)
    eng.step()
    first = transport.conn
    first.sock.shutdown(socket.SHUT_RDWR)  # as a server that timed the idle connection out
    transport._used -= 60  # idle for a minute
    eng.step()
    assert transport.conn is not first
    assert Delivery.objects.filter(status=Delivery.SENT).count() == 2
    assert len(smtp_sink.received) == 2
    transport.close()


def test_an_smtp_connection_kept_while_idle_and_still_held_by_the_server_is_used_again(smtp_sink, settings):
    from mmooc.mailer.transports import for_config

    queue(2)
    transport = for_config(settings.EMAIL_CONFIG)
    eng = engine.Engine(transport, use_lock=False, batch_size=1)
    eng.step()
    first = transport.conn
    transport._used -= 60  # idle for a minute; the NOOP is answered 250
    eng.step()
    assert transport.conn is first
    assert len(smtp_sink.received) == 2
    transport.close()


def test_only_8bit_data_is_announced_as_8bitmime(smtp_sink, settings):
    from mmooc.mailer.transports import for_config

    queue(1)  # rendered copies are 7-bit: quoted-printable or base64 where needed
    post = ("From: Ada <ada@example.org>\r\nTo: g@lists.example.org\r\nSubject: Caf\u00e9\r\n"
            "Message-ID: <p1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\nUn caf\u00e9, s'il vous pla\u00eet.\r\n").encode()
    relayed = outbox.compose_raw(raw=post, list_id="py-3-group-1.lists.example.org")
    outbox.enqueue(relayed, [Recipient("l9@example.org", {})])
    transport = for_config(settings.EMAIL_CONFIG)
    engine.Engine(transport, use_lock=False).step()
    transport.close()
    options = {r.rcpt_tos[0]: r.mail_options for r in smtp_sink.received}
    assert "BODY=8BITMIME" not in options["l0@example.org"]
    assert "BODY=8BITMIME" in options["l9@example.org"]


def test_an_smtp_connection_in_use_is_not_checked_again(smtp_sink, settings, monkeypatch):
    from mmooc.mailer.transports import for_config

    queue(2)
    transport = for_config(settings.EMAIL_CONFIG)
    eng = engine.Engine(transport, use_lock=False, batch_size=1)
    eng.step()
    checks = []
    monkeypatch.setattr(type(transport.conn), "noop", lambda self: checks.append(1) or (250, b"OK"))
    eng.step()
    assert checks == []  # the batch before was a moment ago: no extra round trip
    assert len(smtp_sink.received) == 2
    transport.close()
