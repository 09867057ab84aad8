"""A mail provider's HTTP API on 127.0.0.1, for sending through django-anymail for real.

`FakeProvider(name).start()` serves one provider's send API in a thread, records every
request and answers each as the provider documents a success. `settings_for(name, url)`
is the ANYMAIL setting that points anymail at it: each provider's documented API-URL
setting (Amazon SES: boto3's endpoint_url through AMAZON_SES_CLIENT_PARAMS).
`answer` may be set to a function (Request) -> (status, body) to answer otherwise.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Each provider's API root as its anymail setting takes it (the path is the provider's).
API_PATHS = {
    "amazon_ses": "",
    "brevo": "/v3/",
    "mailersend": "/v1/",
    "mailgun": "/v3",
    "mailjet": "/v3.1/",
    "mandrill": "/api/1.0",
    "postal": "/",
    "postmark": "/",
    "resend": "/",
    "sendgrid": "/v3/",
    "sparkpost": "/api/v1/",
    "unisender_go": "/ru/transactional/api/v1/",
}
PROVIDERS = tuple(API_PATHS)
# Credentials in the form each provider's settings take them.
KEYS: dict[str, dict[str, Any]] = {
    "amazon_ses": {},
    "brevo": {"BREVO_API_KEY": "xkeysib-test"},
    "mailersend": {"MAILERSEND_API_TOKEN": "mlsn.test"},
    "mailgun": {"MAILGUN_API_KEY": "key-test", "MAILGUN_SENDER_DOMAIN": "mg.example.org"},
    "mailjet": {"MAILJET_API_KEY": "mj-key", "MAILJET_SECRET_KEY": "mj-secret"},
    "mandrill": {"MANDRILL_API_KEY": "md-test"},
    "postal": {"POSTAL_API_KEY": "postal-test"},
    "postmark": {"POSTMARK_SERVER_TOKEN": "server-token"},
    "resend": {"RESEND_API_KEY": "re_test"},
    "sendgrid": {"SENDGRID_API_KEY": "SG.test"},
    "sparkpost": {"SPARKPOST_API_KEY": "sp-test"},
    "unisender_go": {"UNISENDER_GO_API_KEY": "ug-test"},
}


def settings_for(name: str, url: str) -> dict[str, Any]:
    """The ANYMAIL setting that sends `name`'s mail to the fake server at `url`."""
    if name == "amazon_ses":
        return {"AMAZON_SES_CLIENT_PARAMS": {
            "endpoint_url": url, "region_name": "eu-west-1",
            "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG"}}
    return {**KEYS[name], f"{name.upper()}_API_URL": url + API_PATHS[name]}


@dataclass
class Request:
    """One request the fake provider received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[Any]]:
        """A multipart/form-data or urlencoded body: each field's values (files as bytes)."""
        kind = self.headers.get("content-type", "")
        if kind.startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qs

            return {k: list(v) for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}
        boundary = re.search(r'boundary="?([^";]+)"?', kind)
        assert boundary, f"not a form: {kind}"
        fields: dict[str, list[Any]] = {}
        for chunk in self.body.split(b"--" + boundary.group(1).encode())[1:-1]:
            head, _, value = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n").partition(b"\r\n\r\n")
            disposition = re.search(rb'name="([^"]*)"(; filename="([^"]*)")?', head)
            assert disposition, head
            name, filename = disposition.group(1).decode(), disposition.group(3)
            fields.setdefault(name, []).append(value if filename is not None else value.decode("utf-8"))
        return fields


def parse_mime(data: bytes | str) -> EmailMessage:
    """A raw message a provider received, as Python's email package reads it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


_ids = itertools.count(1)


def _recipients_of(name: str, request: Request) -> list[str]:
    """The addresses a send call names, for answers that list them."""
    if name == "postal":
        body = request.json()
        return list(body.get("rcpt_to") or body.get("to") or [])
    if name == "mandrill":
        return [to["email"] for to in request.json()["message"]["to"]]
    if name == "unisender_go":
        return [r["email"] for r in request.json()["message"]["recipients"]]
    return []


def success(name: str, request: Request) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON body or None, headers) as `name` documents a successful send."""
    n = next(_ids)
    if name == "amazon_ses":  # SESv2 SendEmail
        return 200, {"MessageId": f"0100018c-{n:08d}-ses"}, {}
    if name == "mailgun":
        return 200, {"id": f"<20240101.{n}@mg.example.org>", "message": "Queued. Thank you."}, {}
    if name == "postmark":
        body = request.json()
        one = {"SubmittedAt": "2014-02-17T07:25:01.4178645-05:00", "ErrorCode": 0, "Message": "OK"}
        if isinstance(body, list):  # email/batch
            return 200, [{**one, "To": m["To"], "MessageID": str(uuid.uuid4())} for m in body], {}
        return 200, {**one, "To": body["To"], "MessageID": str(uuid.uuid4())}, {}
    if name == "sendgrid":
        return 202, None, {}
    if name == "sparkpost":
        count = len(request.json()["recipients"])
        return 200, {"results": {"total_rejected_recipients": 0, "total_accepted_recipients": count,
                                 "id": str(11668787484950529 + n)}}, {}
    if name == "brevo":
        return 201, {"messageId": f"<202401010000.{n}@smtp-relay.mailin.fr>"}, {}
    if name == "resend":
        return 200, {"id": str(uuid.uuid4())}, {}
    if name == "mailjet":
        people = [{"Email": to["Email"], "MessageUUID": str(uuid.uuid4()), "MessageID": 70000000 + n,
                   "MessageHref": f"https://api.mailjet.com/v3/REST/message/{70000000 + n}"}
                  for m in request.json()["Messages"] for to in m["To"]]
        return 200, {"Messages": [{"Status": "success", "CustomID": "", "To": people, "Cc": [], "Bcc": []}]}, {}
    if name == "mandrill":
        return 200, [{"email": to, "status": "sent", "_id": uuid.uuid4().hex, "reject_reason": None}
                     for to in _recipients_of(name, request)], {}
    if name == "mailersend":
        return 202, None, {"X-Message-Id": uuid.uuid4().hex[:24]}
    if name == "postal":
        messages = {to: {"id": 1000 + n, "token": uuid.uuid4().hex[:12]} for to in _recipients_of(name, request)}
        return 200, {"status": "success", "time": 0.02, "flags": {},
                     "data": {"message_id": f"{uuid.uuid4()}@postal.example.org", "messages": messages}}, {}
    if name == "unisender_go":
        return 200, {"status": "success", "job_id": f"1ZymBc-{n:05d}-9X",
                     "emails": _recipients_of(name, request)}, {}
    raise ValueError(f"no fake API for {name!r}")


@dataclass
class FakeProvider:
    """One provider's send API on 127.0.0.1; keeps every request it receives."""

    name: str
    requests: list[Request] = field(default_factory=list)
    answer: Callable[[Request], tuple[int, Any]] | None = None
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeProvider:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length))
                with fake._lock:
                    fake.requests.append(request)
                headers: dict[str, str] = {}
                if fake.answer is not None:
                    status, body = fake.answer(request)
                else:
                    status, body, headers = success(fake.name, request)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                elif fake.name == "mailersend":
                    self.send_header("Content-Type", "text/html; charset=UTF-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def anymail(self) -> dict[str, Any]:
        return settings_for(self.name, self.url)


# --- Mail of each kind, queued the way the project queues it ------------------------------

KINDS = ("course", "confirmation", "group_post", "notice")
ATTACHMENT = b"%PDF-1.4 week one notes\n"


def group_post(sender: str, to: str, *, message_id: str = "<post-1@mail.example.org>") -> bytes:
    """A member's post with a text and an HTML body and a PDF, as a mail program sends it."""
    post = EmailMessage()
    post["From"] = f"Alice Smith <{sender}>"
    post["To"] = to
    post["Subject"] = "Week 1 questions"
    post["Message-ID"] = message_id
    post["In-Reply-To"] = "<start@mail.example.org>"
    post["References"] = "<start@mail.example.org>"
    post.set_content("Does anyone have the notes?\n")
    post.add_alternative("<p>Does anyone have the <b>notes</b>?</p>\n", subtype="html")
    post.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="notes.pdf")
    return post.as_bytes(policy=policy.SMTP)


def queue_kind(kind: str) -> Any:
    """Queue one message of `kind` (KINDS) to several recipients; returns its outbox Message.

    course: a course email (subscribed, per-recipient values and unsubscribe link);
    confirmation: signup confirmations (transactional, one link each);
    group_post: a member's post relayed to a study group (raw bytes);
    notice: the notice to a sender whose post was refused (an automatic reply).
    """
    from mmooc import testing
    from mmooc.courses.models import Cohort
    from mmooc.learners import mail as learner_mail
    from mmooc.learners.models import Learner
    from mmooc.lists import relay
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    cohort = Cohort.objects.filter(slug="py-3").first() or testing.make_cohort(slug="py-3")
    if kind == "course":
        message = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1, {{ name }}",
                                 body="Hello **{{ name }}**, week 1 starts today.", scope=cohort.scope,
                                 tag="course-email", list_id="py-3.announce.lists.course.example.org",
                                 list_name="Python 3", footer="The Team, 1 Example Street")
        outbox.enqueue(message, [outbox.Recipient(f"l{i}@example.org", {"name": f"L<{i}>",
                                                                         "unsubscribe_url": f"https://x.example.org/u/{i}"})
                                 for i in range(3)])
        return message
    if kind == "confirmation":
        learners = [testing.make_learner(cohort, f"new{i}@example.org", state=Learner.PENDING) for i in range(2)]
        learner_mail.queue_confirmations(learners)
        return Message.objects.get(tag="confirmation")
    group = testing.make_group(cohort, members=["alice@example.org", "bob@example.org", "carol@example.org"])
    if kind == "group_post":
        [outcome] = relay.receive(group_post("alice@example.org", group.address), "alice@example.org",
                                  [group.address])
        assert outcome.action == relay.RELAYED, outcome
        return Message.objects.get(tag="relay")
    if kind == "notice":
        [outcome] = relay.receive(group_post("stranger@example.net", group.address), "stranger@example.net",
                                  [group.address])
        assert outcome.action != relay.RELAYED, outcome
        return Message.objects.get(tag="list-notice")
    raise ValueError(f"unknown kind {kind!r}")
