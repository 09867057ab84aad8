"""Where copies go: the built-in outbox, an SMTP server, or a provider through django-anymail.

Each transport takes a batch of claimed deliveries and returns one Result per delivery:
sent, transient (retry later) or permanent (failed). A transport keeps its connection
open across batches while there is work and closes it when the engine goes idle.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from mmooc.lib.env import EmailConfig
from mmooc.lib.mailheaders import HeaderError
from mmooc.mailer import verp
from mmooc.mailer.render import Prepared, PreparedRaw
from mmooc.mailer.verp import make_bounce_address

log = logging.getLogger("mmooc.mailer")

SENT, TRANSIENT, PERMANENT = "sent", "transient", "permanent"
HELD = "held"  # not tried now (its domain is paused): back in the queue without counting an attempt
SMTP_TIMEOUT = 30
# Seconds unused after which a kept connection is checked (NOOP) before it carries a batch.
CHECK_AFTER = 1.0


@dataclass
class Job:
    """One claimed delivery."""

    id: int
    message_id: int
    recipient: str
    context: Mapping[str, str]
    rfc_message_id: str
    attempts: int
    prepared: Prepared | PreparedRaw | None = None
    ref: str = ""  # the caller's reference (a learner's public id): what values made when sent come from


@dataclass
class Result:
    id: int
    outcome: str
    error: str = ""
    provider_id: str = ""
    stored: bytes | None = field(default=None, repr=False)
    wait: float = 0.0  # HELD: seconds until the copy may be tried


def personalize(job: Job) -> bytes:
    assert job.prepared is not None
    return job.prepared.personalize(job.id, job.recipient, job.context, job.rfc_message_id)


class Transport:
    name = "base"

    def send(self, jobs: list[Job]) -> list[Result]:
        raise NotImplementedError

    def close(self) -> None:
        """Drop any open connection (the engine is idle or stopping)."""

    def reset(self) -> None:
        """Drop any open connection at once, without a goodbye (after a fault left it in an unknown state)."""
        self.close()


class OutboxTransport(Transport):
    """Keeps the final bytes on the delivery instead of sending them (MMOOC_EMAIL_URL=outbox:)."""

    name = "outbox"

    def send(self, jobs: list[Job]) -> list[Result]:
        results = []
        for job in jobs:
            try:
                results.append(Result(job.id, SENT, stored=personalize(job)))
            except HeaderError as exc:
                results.append(Result(job.id, PERMANENT, f"not sent: {exc}"))
        return results


def _by_code(code: int, text: str) -> str:
    return TRANSIENT if 400 <= code < 500 else PERMANENT


def _reply_text(code: int, msg: bytes | str) -> str:
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return f"{code} {text}".strip()


class SMTPTransport(Transport):
    """One kept-open SMTP connection; each copy is prepared bytes, pipelined where offered."""

    name = "smtp"

    def __init__(self, config: EmailConfig) -> None:
        self.config = config
        self.conn: smtplib.SMTP | None = None

    def connect(self) -> smtplib.SMTP:
        c = self.config
        if c.tls == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=SMTP_TIMEOUT,
                                                  context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(c.host, c.port, timeout=SMTP_TIMEOUT)
            if c.tls == "starttls":
                conn.starttls(context=ssl.create_default_context())
        if c.username:
            conn.login(c.username, c.password)
        # Commands and message data go out as soon as written: with pipelining, waiting for
        # the peer's delayed ACK (Nagle) costs more than the small extra packets.
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()
            self.conn = None

    def reset(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def send(self, jobs: list[Job]) -> list[Result]:
        results: list[Result] = []
        ready: list[tuple[Job, bytes]] = []
        for job in jobs:
            try:
                ready.append((job, wire_copy(job)))
            except HeaderError as exc:
                results.append(Result(job.id, PERMANENT, f"not sent: {exc}"))
        i = 0
        while i < len(ready):
            if not self._ensure():  # the rest of the batch waits for the next try
                results += [Result(j.id, TRANSIENT, self._connect_error) for j, _ in ready[i:]]
                break
            i = self._session(ready, i, results)
        return results

    _connect_error = ""
    _pos = 0  # the next copy of the batch to send
    _used = 0.0  # time.monotonic() when the connection last carried a batch

    def _ensure(self) -> bool:
        if self.conn is not None and time.monotonic() - self._used < CHECK_AFTER:
            return True
        if self.conn is not None:  # kept open while idle: a NOOP tells whether the server still holds it
            try:
                if self.conn.noop()[0] == 250:
                    return True
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        try:
            self.conn = self.connect()
            return True
        except (smtplib.SMTPException, OSError) as exc:
            self._connect_error = f"could not connect to {self.config.host}:{self.config.port}: {exc}"
            self.conn = None
            return False

    def _session(self, ready: list[tuple[Job, bytes]], i: int, results: list[Result]) -> int:
        """Send from ready[i] on over the open connection; returns where it stopped."""
        conn = self.conn
        assert conn is not None
        self._pos = i
        in_flight: list[Job] = []
        try:
            conn.ehlo_or_helo_if_needed()
            if conn.has_extn("pipelining"):
                self._pipelined(conn, ready, results, in_flight)
            else:
                self._sequential(conn, ready, results, in_flight)
            self._used = time.monotonic()
        except (smtplib.SMTPException, OSError) as exc:
            # The connection broke: copies in flight may or may not have arrived. They are
            # retried with the same Message-ID, so a duplicate is recognisable.
            self._drop()
            reason = f"connection lost: {exc or type(exc).__name__}"
            results += [Result(j.id, TRANSIENT, reason) for j in in_flight]
        return self._pos

    def _sequential(self, conn: smtplib.SMTP, ready: list[tuple[Job, bytes]], results: list[Result],
                    in_flight: list[Job]) -> None:
        while self._pos < len(ready):
            job, data = ready[self._pos]
            in_flight[:] = [job]
            self._pos += 1
            code, reply = self._transaction(conn, job, data)
            results.append(self._result(job, code, reply))
            in_flight.clear()
            if code == 421:  # the server is closing the connection
                self._drop()
                return

    def _commands(self, conn: smtplib.SMTP, job: Job, data: bytes) -> str:
        option = " BODY=8BITMIME" if not data.isascii() and conn.has_extn("8bitmime") else ""
        if conn.has_extn("dsn"):
            # RFC 3461: a bounce then names the delivery even if the return path was rewritten.
            option += f" RET=HDRS ENVID={verp.token(job.id)}"
        sender = "" if getattr(job.prepared, "null_sender", False) else verp.make_bounce_address(job.id)
        return f"MAIL FROM:<{sender}>{option}\r\nRCPT TO:<{job.recipient}>\r\n"

    def _pipelined(self, conn: smtplib.SMTP, ready: list[tuple[Job, bytes]], results: list[Result],
                   in_flight: list[Job]) -> None:
        """RFC 2920: one write per copy carries the previous copy's data and this copy's commands."""
        pending: tuple[Job, bytes] | None = None  # accepted DATA (354), its data not sent yet
        while self._pos < len(ready) or pending:
            nxt = ready[self._pos] if self._pos < len(ready) else None
            out = (pending[1] + b".\r\n") if pending else b""
            if nxt:
                out += (self._commands(conn, *nxt) + "DATA\r\n").encode("ascii")
                in_flight.append(nxt[0])
                self._pos += 1
            conn.send(out)
            if pending:
                code, reply = conn.getreply()
                results.append(self._result(pending[0], code, reply))
                in_flight.remove(pending[0])
                pending = None
                if code == 421:  # closing: the commands just sent will not be answered
                    results += [Result(j.id, TRANSIENT, _reply_text(code, reply)) for j in in_flight]
                    self._drop()
                    return
            if nxt:
                replies = [conn.getreply(), conn.getreply(), conn.getreply()]
                failure = _first_failure(replies)
                if failure is None:
                    pending = nxt
                else:
                    results.append(self._result(nxt[0], *failure))
                    in_flight.remove(nxt[0])
                    if failure[0] == 421:
                        self._drop()
                        return
                    conn.rset()

    def _transaction(self, conn: smtplib.SMTP, job: Job, data: bytes) -> tuple[int, bytes]:
        """One command at a time, for servers that do not offer pipelining."""
        replies = []
        for command in [*self._commands(conn, job, data).splitlines(), "DATA"]:
            conn.send(command + "\r\n")
            replies.append(conn.getreply())
            failure = _first_failure(replies)
            if failure is not None:
                if failure[0] != 421:
                    conn.rset()
                return failure
        conn.send(data + b".\r\n")
        return conn.getreply()

    def _result(self, job: Job, code: int, reply: bytes) -> Result:
        if code == 250:
            return Result(job.id, SENT)
        return Result(job.id, _by_code(code, ""), _reply_text(code, reply))


def _first_failure(replies: list[tuple[int, bytes]]) -> tuple[int, bytes] | None:
    for (code, reply), wanted in zip(replies, ((250,), (250, 251), (354,)), strict=False):
        if code not in wanted:
            return code, reply
    return None


def wire_copy(job: Job) -> bytes:
    """A copy as SMTP DATA carries it. A relayed post's own bytes, the same in every copy, are
    made ready once (kept on the prepared message) and only the copy's headers each time: the
    same bytes as _wire of the whole copy, since those headers end with a whole line."""
    prepared = job.prepared
    if not isinstance(prepared, PreparedRaw):
        return _wire(personalize(job))
    if prepared.tail is None:
        prepared.tail = _wire(prepared.static + prepared.raw, foreign=True)
    head = prepared.head(job.id, job.recipient, job.context)
    return _wire(head, foreign=True) + prepared.tail if head else prepared.tail


def _wire(data: bytes, foreign: bool = False) -> bytes:
    """CRLF line ends and dot-stuffing (RFC 5321 4.5.2); our own copies are CRLF already."""
    if foreign and data.count(b"\n") != data.count(b"\r\n"):
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    return data if data.endswith(b"\r\n") else data + b"\r\n"


@dataclass(frozen=True)
class Batch:
    """How a provider takes one API call for many recipients with per-recipient variables."""

    size: int  # most recipients per call (MAIL_RULES 45: never more than 1,000)
    syntax: str  # a variable in the content, from its name
    esp_extra: Mapping[str, Any] = field(default_factory=dict)
    # Text that the provider's template language would read in our own content; a message
    # containing it is sent one copy per call, exactly as written.
    reserved: tuple[str, ...] = ()


# Providers whose API takes one call for many recipients with per-recipient variables in
# inline content (anymail merge_data without a stored template). Postmark takes merge_data
# only with a stored template but many finished copies per call (providers.MESSAGE_BATCH).
# Not here: Amazon SES takes merge_data only with a stored template; Resend refuses it;
# MailerSend either shows every recipient the whole To list or returns no message ids;
# Unisender Go takes no per-recipient Message-ID; Brevo and Mailjet run inline content through their template
# languages and go one copy per call until that is checked against their APIs.
BATCH_PROVIDERS: dict[str, Batch] = {
    "mailgun": Batch(1000, "%recipient.{}%"),
    # v3 personalizations (at most 1,000 per request) with legacy substitutions: plain text
    # replacement of each key, so the keys carry delimiters of their own.
    "sendgrid": Batch(1000, "-mmooc{}-", {"merge_field_format": "-mmooc{}-"}),
    # Recipient substitution_data; triple braces insert values as given (double braces would
    # escape the HTML copy twice).
    "sparkpost": Batch(1000, "{{{{{{{}}}}}}}", reserved=("{{", "}}")),
}


# Providers whose API takes a full envelope sender, so bounces reach our return path. The
# others report bounces through their webhooks only.
VERP_PROVIDERS = {"amazon_ses", "sparkpost", "postal"}


def _api_outcome(exc: Exception) -> tuple[str, str]:
    status = getattr(exc, "status_code", None)
    if status is None or status == 429 or status >= 500:
        return TRANSIENT, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return PERMANENT, str(exc).splitlines()[0]


class AnymailTransport(Transport):
    """A django-anymail backend; one API call per batch where the provider supports it."""

    def __init__(self, config: EmailConfig) -> None:
        from django.core.mail import get_connection

        from mmooc.mailer import providers

        self.name = config.provider
        self.batch = BATCH_PROVIDERS.get(config.provider)
        self.connection: Any = get_connection(settings.EMAIL_BACKEND)
        providers.install_raw(self.connection, config.provider)
        self.open = False

    def close(self) -> None:
        if self.open:
            self.connection.close()
            self.open = False

    def send(self, jobs: list[Job]) -> list[Result]:
        from mmooc.mailer import providers

        if not self.open:
            self.connection.open()
            self.open = True
        structured = [j for j in jobs if isinstance(j.prepared, Prepared)]
        raw = [j for j in jobs if not isinstance(j.prepared, Prepared)]
        # A relayed post may be megabytes with its attachments: one call per copy.
        results = [self._send_one(j) for j in raw]
        if self.name in providers.MESSAGE_BATCH:  # many finished copies per call
            results += self._send_copies(structured, providers.MESSAGE_BATCH[self.name])
        elif self.batch and structured:
            by_message: dict[int, list[Job]] = {}
            for j in structured:
                by_message.setdefault(j.message_id, []).append(j)
            for group in by_message.values():
                results += self._send_group(group, self.batch)
        else:
            results += [self._send_one(j) for j in structured]
        return results

    def _deliver(self, message: Any, jobs: list[Job]) -> list[Result]:
        from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailUnsupportedFeature

        try:
            self.connection.send_messages([message])
        except AnymailRecipientsRefused as exc:
            return [Result(j.id, PERMANENT, f"refused by the provider: {exc}") for j in jobs]
        except AnymailUnsupportedFeature as exc:  # the same message would fail again
            return [Result(j.id, PERMANENT, _unsupported(exc)) for j in jobs]
        except AnymailError as exc:
            outcome, text = _api_outcome(exc)
            return [Result(j.id, outcome, text) for j in jobs]
        statuses = message.anymail_status.recipients
        results = []
        for j in jobs:
            status = statuses.get(j.recipient.lower()) or statuses.get(j.recipient)
            if status is not None and status.status in ("rejected", "invalid"):
                results.append(Result(j.id, PERMANENT, f"{status.status} by the provider"))
            else:
                # As text: some providers' ids are numbers (Postal's).
                results.append(Result(j.id, SENT, provider_id=str(status.message_id or "") if status else ""))
        return results

    def _send_one(self, job: Job) -> Result:
        built = self._message(job)
        return built if isinstance(built, Result) else self._deliver(built, [job])[0]

    def _message(self, job: Job) -> Any:
        """One copy as an anymail message, or the Result that says why it cannot be sent."""
        return self._structured(job) if isinstance(job.prepared, Prepared) else self._raw(job)

    def _raw(self, job: Job) -> Any:
        """A relayed post: its own bytes where the API takes a whole message, else its parts."""
        from mmooc.mailer import providers

        try:
            data = personalize(job)
        except HeaderError as exc:
            return Result(job.id, PERMANENT, f"not sent: {exc}")
        msg: Any
        try:
            if self.name in providers.RAW_APIS:
                msg = providers.RawCopy(data, job.recipient, providers.from_header(data))
            else:
                msg = providers.parsed_copy(data, job.recipient)
        except (ValueError, LookupError, TypeError) as exc:  # a copy Python's email package cannot read
            return Result(job.id, PERMANENT, f"not sent: the message cannot be read: {exc}")
        if self.name in VERP_PROVIDERS:
            msg.envelope_sender = make_bounce_address(job.id)
        assert job.prepared is not None
        m = job.prepared.message
        msg.tags = [m.tag] if m.tag else []
        msg.esp_extra = providers.esp_extra(self.name, m.kind)
        return msg

    def _structured(self, job: Job) -> Any:
        from anymail.message import AnymailMessage

        from mmooc.mailer import providers

        assert isinstance(job.prepared, Prepared)
        try:
            parts = job.prepared.parts(job.id, job.context, job.rfc_message_id)
        except HeaderError as exc:
            return Result(job.id, PERMANENT, f"not sent: {exc}")
        m = job.prepared.message
        msg = AnymailMessage(subject=parts.subject, body=parts.text, from_email=m.from_email,
                             to=[job.recipient], reply_to=[m.reply_to] if m.reply_to else None,
                             headers=parts.headers)
        msg.attach_alternative(parts.html, "text/html")
        if self.name in VERP_PROVIDERS:
            msg.envelope_sender = make_bounce_address(job.id)
        msg.tags = [m.tag] if m.tag else []
        msg.esp_extra = providers.esp_extra(self.name, m.kind)
        return msg

    def _send_copies(self, jobs: list[Job], size: int) -> list[Result]:
        """Every copy finished here, then sent `size` to a call (Postmark's batch API)."""
        results: list[Result] = []
        ready: list[tuple[Job, Any]] = []
        for job in jobs:
            built = self._message(job)
            if isinstance(built, Result):
                results.append(built)
            else:
                ready.append((job, built))
        for start in range(0, len(ready), size):
            results += self._post_copies(ready[start:start + size])
        return results

    def _post_copies(self, chunk: list[tuple[Job, Any]]) -> list[Result]:
        from anymail.exceptions import AnymailError, AnymailUnsupportedFeature

        from mmooc.mailer import providers

        jobs = [j for j, _ in chunk]
        try:
            answers = providers.post_batch(self.connection, [m for _, m in chunk])
        except AnymailUnsupportedFeature as exc:
            # One copy the API cannot carry: the others go one by one, so only it fails.
            if len(chunk) == 1:
                return [Result(jobs[0].id, PERMANENT, _unsupported(exc))]
            return [r for pair in chunk for r in self._post_copies([pair])]
        except AnymailError as exc:
            outcome, text = _api_outcome(exc)
            return [Result(j.id, outcome, text) for j in jobs]
        return [Result(j.id, *answer) for j, answer in zip(jobs, answers, strict=True)]

    def _send_group(self, group: list[Job], batch: Batch) -> list[Result]:
        """One message's copies: in calls of batch.size, or one by one if the content forbids it."""
        if batch.reserved and _holds(group[0].prepared, batch.reserved):
            return [self._send_one(j) for j in group]
        results: list[Result] = []
        for start in range(0, len(group), batch.size):
            results += self._send_batch(group[start:start + batch.size], batch)
        return results

    def _send_batch(self, jobs: list[Job], batch: Batch) -> list[Result]:
        from anymail.message import AnymailMessage

        prepared = jobs[0].prepared
        assert isinstance(prepared, Prepared)
        syntax = batch.syntax
        names = sorted(prepared.rendered.subject.names | prepared.rendered.text.names
                       | prepared.rendered.html.names)
        text_vars = {n: syntax.format(f"t{i}") for i, n in enumerate(names)}
        html_vars = {n: syntax.format(f"h{i}") for i, n in enumerate(names)}
        merge_data, merge_headers, ok = {}, {}, []
        failed: list[Result] = []
        for j in jobs:
            try:
                parts = prepared.parts(j.id, j.context, j.rfc_message_id)
            except HeaderError as exc:
                failed.append(Result(j.id, PERMANENT, f"not sent: {exc}"))
                continue
            values = {f"t{i}": str(j.context.get(n, "")) for i, n in enumerate(names)}
            values.update({f"h{i}": _escape(str(j.context.get(n, ""))) for i, n in enumerate(names)})
            merge_data[j.recipient] = values
            merge_headers[j.recipient] = {k: v for k, v in parts.headers.items()
                                          if k in ("Message-ID", "List-Unsubscribe")}
            ok.append(j)
        if not ok:
            return failed
        m = prepared.message
        static = {k: v for k, v in prepared.parts(ok[0].id, ok[0].context, "").headers.items()
                  if k not in ("Message-ID", "List-Unsubscribe")}
        msg = AnymailMessage(subject=prepared.rendered.subject.fill(text_vars),
                             body=prepared.rendered.text.fill(text_vars), from_email=m.from_email,
                             to=[j.recipient for j in ok], reply_to=[m.reply_to] if m.reply_to else None,
                             headers=static)
        msg.attach_alternative(prepared.rendered.html.fill(html_vars), "text/html")
        msg.merge_data = merge_data
        msg.merge_headers = merge_headers
        msg.tags = [m.tag] if m.tag else []
        if batch.esp_extra:
            msg.esp_extra = dict(batch.esp_extra)
        return failed + self._deliver(msg, ok)


def _unsupported(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"not sent: the provider's API cannot send it: {text}"


def _holds(prepared: Prepared | PreparedRaw | None, reserved: tuple[str, ...]) -> bool:
    """Whether the message's own text (placeholders left out) contains any of `reserved`."""
    assert isinstance(prepared, Prepared)
    r = prepared.rendered
    blank = {n: "" for n in r.subject.names | r.text.names | r.html.names}
    texts = (r.subject.fill(blank), r.text.fill(blank), r.html.fill(blank), *prepared.message.headers.values())
    return any(mark in text for text in texts for mark in reserved)


def _escape(value: str) -> str:
    from mmooc.lib.mailrender import escape_html

    return escape_html(value)


def for_config(config: EmailConfig) -> Transport:
    if config.kind == "smtp":
        return SMTPTransport(config)
    if config.kind == "anymail":
        return AnymailTransport(config)
    return OutboxTransport()
