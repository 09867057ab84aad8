"""Every provider the docs name × every kind of mail, through the delivery engine and
django-anymail to a fake of the provider's HTTP API on 127.0.0.1 (mmooc.testing.fake_provider).

Each request is read back in the provider's own format (`copies`): the recipient, the
subject and the headers each copy carries, and the whole message where the API took one.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.providers import RAW_APIS
from mmooc.testing import refused_statements
from mmooc.testing.fake_provider import ATTACHMENT, KINDS, PROVIDERS, FakeProvider, Request, parse_mime, queue_kind

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    started: list[FakeProvider] = []

    def use(name: str, **anymail) -> FakeProvider:
        server = FakeProvider(name).start()
        started.append(server)
        settings.EMAIL_CONFIG = parse_email_url(f"anymail:{name}")
        settings.EMAIL_BACKEND = settings.EMAIL_CONFIG.backend
        settings.ANYMAIL = {**server.anymail, **anymail}
        settings.MAIL_RATE_LIMIT = 0
        return server

    yield use
    for server in started:
        server.stop()


@dataclass
class Copy:
    """One recipient's copy as the provider was asked to send it."""

    recipient: str
    subject: str
    headers: dict[str, str]  # names as sent; compare with header()
    mime: EmailMessage | None = None  # the whole message, for a raw send
    request: Request | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def _fill(text: str, values: dict[str, str], pattern: str) -> str:
    return re.sub(pattern, lambda m: str(values.get(m.group(1), m.group(0))), text)


def _from_mime(recipient: str, data: bytes | str, request: Request) -> Copy:
    mime = parse_mime(data)
    # (values stripped: a field folded right after its colon reads with a leading space)
    return Copy(recipient, str(mime["Subject"]), {k: str(v).strip() for k, v in mime.items()}, mime, request)


def copies(name: str, request: Request) -> list[Copy]:
    """The copies one API request asks for, read as the provider's documentation describes it."""
    if name == "amazon_ses":
        body = request.json()
        raw = base64.b64decode(body["Content"]["Raw"]["Data"])
        return [_from_mime(to, raw, request) for to in body["Destination"]["ToAddresses"]]
    if name == "mailgun":
        form = request.form()
        if request.path.endswith("/messages.mime"):
            return [_from_mime(to, form["message"][0], request) for to in form["to"]]
        variables = json.loads(form.get("recipient-variables", ["{}"])[0])
        out = []
        for to in form["to"]:
            mine = variables.get(to, {})
            headers = {k[2:]: _fill(v[0], mine, r"%recipient\.([^%]+)%") for k, v in form.items()
                       if k.startswith("h:")}
            out.append(Copy(to, _fill(form["subject"][0], mine, r"%recipient\.([^%]+)%"), headers, request=request))
        return out
    body = request.json() if request.body else {}
    if name == "sendgrid":
        out = []
        for p in body["personalizations"]:
            subs = p.get("substitutions", {})
            headers = {**body.get("headers", {}), **p.get("headers", {})}
            subject = p.get("subject", body.get("subject", ""))
            for key, value in subs.items():
                subject = subject.replace(key, value)
            out.append(Copy(p["to"][0]["email"], subject, headers, request=request))
        return out
    if name == "sparkpost":
        content = body["content"]
        if "email_rfc822" in content:
            return [_from_mime(r["address"]["email"], content["email_rfc822"], request) for r in body["recipients"]]
        out = []
        for r in body["recipients"]:
            values = {**body.get("substitution_data", {}), **r.get("substitution_data", {})}
            pattern = r"\{\{\{?\s*([\w]+)\s*\}?\}\}"
            headers = {k: _fill(v, values, pattern) for k, v in content.get("headers", {}).items()}
            subject = _fill(content["subject"], values, pattern)
            out.append(Copy(r["address"]["email"], subject, headers, request=request))
        return out
    if name == "postal":
        if request.path.endswith("/send/raw"):
            return [_from_mime(to, base64.b64decode(body["data"]), request) for to in body["rcpt_to"]]
        return [Copy(to, body["subject"], body.get("headers", {}), request=request) for to in body["to"]]
    if name == "postmark":
        items = body if isinstance(body, list) else [body]
        return [Copy(m["To"], m["Subject"], {h["Name"]: h["Value"] for h in m.get("Headers", [])}, request=request)
                for m in items]
    if name in ("brevo", "mailersend"):
        headers = body.get("headers", {})
        if isinstance(headers, list):
            headers = {h["name"]: h["value"] for h in headers}
        if "in_reply_to" in body:
            headers["In-Reply-To"] = body["in_reply_to"]
        return [Copy(to["email"], body["subject"], headers, request=request) for to in body["to"]]
    if name == "resend":
        return [Copy(to, body["subject"], body.get("headers", {}), request=request) for to in body["to"]]
    if name == "mailjet":
        m = body["Messages"][0] if "Messages" in body else body
        g = body.get("Globals", {})
        headers = {**g.get("Headers", {}), **m.get("Headers", {})}
        return [Copy(to["Email"], m.get("Subject", g.get("Subject", "")), headers, request=request) for to in m["To"]]
    if name == "mandrill":
        m = body["message"]
        return [Copy(to["email"], m["subject"], m.get("headers", {}), request=request) for to in m["to"]]
    if name == "unisender_go":
        m = body["message"]
        return [Copy(r["email"], m["subject"], m.get("headers", {}), request=request) for r in m["recipients"]]
    raise AssertionError(f"no reader for {name}")


def sent(server: FakeProvider) -> dict[str, Copy]:
    return {c.recipient: c for r in server.requests for c in copies(server.name, r)}


def rfc_ids(message: Message) -> dict[str, str]:
    return {d.recipient: d.header_message_id() for d in message.deliveries.all()}


# --- a relayed post: the regression ---------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_relayed_group_post_is_sent_through_every_provider(fake, name):
    server = fake(name)
    message = queue_kind("group_post")
    assert engine.drain() == 2
    assert outbox.progress(message)[Delivery.SENT] == 2
    got = sent(server)
    assert sorted(got) == ["bob@example.org", "carol@example.org"]
    bob = got["bob@example.org"]
    assert bob.subject == "[Group 1] Week 1 questions"
    assert bob.header("Message-ID") == "<post-1@mail.example.org>"
    assert bob.header("In-Reply-To") == "<start@mail.example.org>"
    if name != "mailersend":  # its API takes In-Reply-To only, other headers on Enterprise accounts
        assert bob.header("References") == "<start@mail.example.org>"
        assert bob.header("List-Id") == "Group 1 <py-3-group-1.lists.course.example.org>"
        assert bob.header("List-Post") == "<mailto:py-3-group-1@lists.course.example.org>"
        assert bob.header("List-Unsubscribe").startswith("<http://127.0.0.1:8000/u/")
        assert bob.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        assert bob.header("X-Loop") == "py-3-group-1@lists.course.example.org"
    assert bob.header("List-Unsubscribe") != got["carol@example.org"].header("List-Unsubscribe")


@pytest.mark.parametrize("name", sorted(RAW_APIS))
def test_a_provider_with_a_raw_api_gets_the_copy_byte_for_byte(fake, name):
    server = fake(name)
    message = queue_kind("group_post")
    engine.drain()
    bob = sent(server)["bob@example.org"]
    assert bob.mime is not None
    assert str(bob.mime["From"]) == "Alice via Group 1 <py-3-group-1@lists.course.example.org>"
    assert bob.mime["X-Original-From"] == '"Alice" <alice@example.org>'
    assert bob.mime["To"] == "bob@example.org"
    # The copy wraps the author's message, whole, before the list's footer part.
    [attachment] = [part for part in bob.mime.walk() if part.get_filename()]
    assert attachment.get_filename() == "notes.pdf" and attachment.get_content() == ATTACHMENT
    assert bob.mime.get_body(("plain",)).get_content().strip() == "Does anyone have the notes?"
    if name == "postal":
        assert bob.request.json()["mail_from"].startswith("bounces+")  # the copy's own return path
    if name == "sparkpost":
        assert bob.request.json()["return_path"].startswith("bounces+")
    stored = bytes(message.raw)
    if name != "amazon_ses":  # SES: anymail serializes the parsed message again (LF line ends)
        assert stored in _raw_sent(name, bob.request)


def _raw_sent(name: str, request: Request) -> bytes:
    if name == "mailgun":
        return request.form()["message"][0]
    if name == "sparkpost":
        return request.json()["content"]["email_rfc822"].encode()
    return base64.b64decode(request.json()["data"])


@pytest.mark.parametrize("name", sorted(set(PROVIDERS) - set(RAW_APIS) - {"mailersend"}))
def test_a_provider_without_a_raw_api_gets_the_parts_and_the_attachment(fake, name):
    server = fake(name)
    queue_kind("group_post")
    engine.drain()
    [request, *_] = server.requests
    text = request.body.decode()
    assert "Does anyone have the notes?" in text
    assert "Does anyone have the <b>notes</b>?" in text or "Does anyone have the \\u003cb\\u003e" in text
    assert base64.b64encode(ATTACHMENT).decode() in text  # the PDF, base64 in the JSON
    assert "notes.pdf" in text
    assert "py-3-group-1@lists.course.example.org" in text  # From and Reply-To: the group


# --- the matrix ----------------------------------------------------------------------------


def _check_kind(kind: str, message: Message, got: dict[str, Copy]) -> None:
    ids = rfc_ids(message)
    assert sorted(got) == sorted(ids)
    for recipient, copy in got.items():
        if kind == "course":
            n = recipient[1]
            assert copy.subject == f"Week 1, L<{n}>"
            assert copy.header("Message-ID") == ids[recipient]
            assert copy.header("List-Unsubscribe").startswith(f"<https://x.example.org/u/{n}>, <mailto:unsubscribe+")
            assert copy.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
            assert copy.header("List-Id") == "Python 3 <py-3.announce.lists.course.example.org>"
        elif kind == "confirmation":
            assert copy.header("Message-ID") == ids[recipient]
            assert copy.header("List-Unsubscribe") is None and copy.header("Precedence") is None
        elif kind == "notice":
            assert recipient == "stranger@example.net"
            assert copy.subject == "Your message to Group 1 is waiting"  # held: its sender is unknown
            assert copy.header("Auto-Submitted") == "auto-replied"
            assert copy.header("In-Reply-To") == "<post-1@mail.example.org>"
            assert copy.header("List-Unsubscribe") is None
        elif kind == "group_post":
            assert copy.header("Message-ID") == "<post-1@mail.example.org>"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", PROVIDERS)
def test_every_kind_of_mail_through_every_provider(fake, name, kind):
    server = fake(name)
    message = queue_kind(kind)
    count = message.deliveries.count()
    assert engine.drain() == count
    assert outbox.progress(message)[Delivery.SENT] == count
    got = sent(server)
    if name == "mailersend":  # custom headers are an Enterprise feature: only the recipients are checked
        assert sorted(got) == sorted(rfc_ids(message))
    else:
        _check_kind(kind, message, got)
    ids = set(message.deliveries.values_list("provider_id", flat=True))
    assert "" not in ids  # each copy keeps the provider's id, to match its events


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_mail_through_smtp(smtp_sink, kind):
    message = queue_kind(kind)
    count = message.deliveries.count()
    assert engine.drain() == count
    got = {r.rcpt_tos[0]: r for r in smtp_sink.received}
    _check_kind(kind, message, {to: Copy(to, str(r.message["Subject"]), {k: str(v) for k, v in r.message.items()})
                                for to, r in got.items()})
    for received in got.values():
        if kind == "notice":
            assert received.mail_from == "<>"  # an automatic reply goes with a null sender
        else:
            assert received.mail_from.startswith("bounces+")


# --- provider specifics --------------------------------------------------------------------


@pytest.mark.parametrize("kind, stream", [("course", "broadcast"), ("group_post", "broadcast"),
                                          ("confirmation", "outbound"), ("notice", "outbound")])
def test_postmark_sends_course_and_group_mail_on_the_broadcast_stream_and_the_rest_on_the_transactional(
        fake, kind, stream):
    server = fake("postmark")
    queue_kind(kind)
    engine.drain()
    assert server.requests
    sent_messages = [m for r in server.requests for m in (r.json() if r.path == "/email/batch" else [r.json()])]
    assert {m["MessageStream"] for m in sent_messages} == {stream}


def test_postmark_streams_are_named_by_the_settings(fake, settings):
    settings.POSTMARK_BROADCAST_STREAM = "course-news"
    settings.POSTMARK_TRANSACTIONAL_STREAM = ""  # Postmark's default stream: the field is left out
    server = fake("postmark")
    queue_kind("course")
    queue_kind("confirmation")
    engine.drain()
    streams = {m["To"]: m.get("MessageStream") for r in server.requests for m in r.json()}
    assert streams == {"l0@example.org": "course-news", "l1@example.org": "course-news",
                       "l2@example.org": "course-news", "new0@example.org": None, "new1@example.org": None}


@pytest.mark.parametrize("kind", KINDS)
def test_amazon_ses_sends_every_kind_in_the_configuration_set(fake, kind):
    server = fake("amazon_ses", AMAZON_SES_CONFIGURATION_SET_NAME="mmooc-course")
    queue_kind(kind)
    engine.drain()
    assert server.requests
    for request in server.requests:
        assert request.path == "/v2/email/outbound-emails"
        assert request.json()["ConfigurationSetName"] == "mmooc-course"


def test_amazon_ses_gets_the_per_copy_return_path_for_bounces(fake):
    server = fake("amazon_ses")
    message = queue_kind("course")
    engine.drain()
    by_recipient = {r.json()["Destination"]["ToAddresses"][0]: r.json() for r in server.requests}
    for delivery in message.deliveries.all():
        address = by_recipient[delivery.recipient]["FeedbackForwardingEmailAddress"]
        assert address.startswith("bounces+") and address.endswith("@lists.course.example.org")


def test_the_configuration_set_is_read_from_the_environment_as_text():
    from mmooc.lib.env import anymail_settings

    assert anymail_settings({"ANYMAIL_AMAZON_SES_CONFIGURATION_SET_NAME": "mmooc-course"}) == {
        "AMAZON_SES_CONFIGURATION_SET_NAME": "mmooc-course"}


def test_a_relayed_post_the_api_cannot_send_fails_at_once_with_the_reason(fake):
    fake("brevo", BREVO_PREVENT_HEADER_ENCODING_BUGS=True)
    message = queue_kind("group_post")
    Message.objects.filter(pk=message.pk).update(raw=bytes(message.raw).replace(
        b"X-Loop:", "X-Note: caf\u00e9\r\nX-Loop:".encode()))
    engine.drain()
    for delivery in message.deliveries.all():
        assert delivery.status == Delivery.FAILED and delivery.attempts == 1
        assert "non-ASCII characters" in delivery.last_error


def test_a_provider_error_on_a_relayed_post_defers_it(fake):
    server = fake("mailgun")
    server.answer = lambda request: (503, {"message": "Service Unavailable"})
    message = queue_kind("group_post")
    engine.drain()
    assert outbox.progress(message)[Delivery.DEFERRED] == 2
    assert all("503" in d.last_error for d in message.deliveries.all())


def test_postmark_gets_each_batch_in_one_call_of_its_batch_api(fake):
    server = fake("postmark")
    course, confirmation = queue_kind("course"), queue_kind("confirmation")
    engine.drain()
    [request] = server.requests
    assert request.path == "/email/batch"
    by_to = {m["To"]: m for m in request.json()}
    assert sorted(by_to) == ["l0@example.org", "l1@example.org", "l2@example.org",
                             "new0@example.org", "new1@example.org"]
    assert [by_to[f"l{i}@example.org"]["Subject"] for i in range(3)] == ["Week 1, L<0>", "Week 1, L<1>",
                                                                         "Week 1, L<2>"]
    assert {to: m["MessageStream"] for to, m in by_to.items()} == {
        "l0@example.org": "broadcast", "l1@example.org": "broadcast", "l2@example.org": "broadcast",
        "new0@example.org": "outbound", "new1@example.org": "outbound"}
    one = by_to["l1@example.org"]
    assert "L&lt;1&gt;" in one["HtmlBody"] and "L<1>" in one["TextBody"]
    ids = [d.provider_id for m in (course, confirmation) for d in m.deliveries.order_by("recipient")]
    assert len(set(ids)) == 5 and "" not in ids


def test_postmark_batches_hold_at_most_the_batch_size(fake, monkeypatch):
    from mmooc.mailer import providers

    monkeypatch.setitem(providers.MESSAGE_BATCH, "postmark", 2)
    server = fake("postmark")
    queue_kind("course")
    engine.drain()
    assert [len(r.json()) for r in server.requests] == [2, 1]


def test_postmark_answers_each_copy_of_a_batch_on_its_own(fake):
    server = fake("postmark")

    def answer(request):
        out = []
        for m in request.json():
            if m["To"] == "l1@example.org":
                out.append({"ErrorCode": 406, "Message": "You tried to send to recipient(s) that have been "
                            "marked as inactive. Found inactive addresses: l1@example.org. Inactive "
                            "recipients are ones that have generated a hard bounce, a spam complaint, "
                            "or a manual suppression."})
            elif m["To"] == "l2@example.org":
                out.append({"ErrorCode": 1000, "Message": "Service temporarily unavailable"})
            else:
                out.append({"ErrorCode": 0, "Message": "OK", "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
                            "SubmittedAt": "2010-11-26T12:01:05.1794748-05:00", "To": m["To"]})
        return 200, out

    server.answer = answer
    message = queue_kind("course")
    engine.drain()
    by = {d.recipient: d for d in message.deliveries.all()}
    assert by["l0@example.org"].status == Delivery.SENT
    assert by["l0@example.org"].provider_id == "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"
    assert by["l1@example.org"].status == Delivery.FAILED
    assert "inactive" in by["l1@example.org"].last_error
    assert by["l2@example.org"].status == Delivery.DEFERRED
    assert "Service temporarily unavailable" in by["l2@example.org"].last_error


@pytest.mark.parametrize("status, answer, outcome", [
    (422, {"ErrorCode": 405, "Message": "Not allowed to send: you have run out of credits."}, Delivery.DEFERRED),
    (422, {"ErrorCode": 300, "Message": "Invalid 'From' address: 'course'."}, Delivery.FAILED),
    (500, {"ErrorCode": 500, "Message": "Internal Server Error"}, Delivery.DEFERRED),
    (401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."}, Delivery.FAILED),
])
def test_postmark_refusing_a_whole_batch_defers_or_fails_every_copy(fake, status, answer, outcome):
    server = fake("postmark")
    server.answer = lambda request: (status, answer)
    message = queue_kind("course")
    engine.drain()
    assert outbox.progress(message)[outcome] == 3
    assert all(answer["Message"][:20] in d.last_error or str(status) in d.last_error
               for d in message.deliveries.all())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["mailgun", "postmark"])  # one call per copy; one call per batch
def test_outcomes_whose_write_fails_once_are_written_again_and_the_provider_is_asked_once(
        fake, monkeypatch, caplog, name):
    # The copies went out through the API and the write of their provider ids failed (SQLite's
    # table locked by a reader, PostgreSQL's connection dropped): given up, they would be sent
    # again once their lease ran out.
    monkeypatch.setattr(engine, "RECORD_RETRY_WAIT", 0.01)
    monkeypatch.setattr(engine, "DB_RETRY_WAIT", 0.01)
    server = fake(name)
    message = queue_kind("course")
    with refused_statements("SET status = 'sent', sent_at = %s, provider_id = %s", times=1) as failed:
        assert engine.drain() == 3
    assert failed
    assert outbox.progress(message)[Delivery.SENT] == 3
    recipients = [c.recipient for r in server.requests for c in copies(name, r)]
    assert sorted(recipients) == ["l0@example.org", "l1@example.org", "l2@example.org"]  # each once
    assert "" not in message.deliveries.values_list("provider_id", flat=True)  # as the provider answered
    assert any("writing the outcomes of 3 copies failed" in r.getMessage() for r in caplog.records)

