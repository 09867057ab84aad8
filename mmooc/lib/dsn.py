"""Delivery status notifications (RFC 3464) read into plain data, and SMTP status classes.

    report = parse(raw_bytes)
    for r in report.recipients:
        r.final_recipient, r.action, r.status, r.diagnostic, r.verdict

Anything can arrive at a bounce address: real DSNs, old-style text bounces, auto-replies,
spam, garbage. Parsing never raises; what cannot be read is described in `problems`.
A verdict is only "hard" when the report says so plainly (Action: failed, Status 5.x.x
about the address), so a malformed or hostile report never suppresses anyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser

# Only the head of a huge bounce is read: the report part comes before the returned message.
MAX_PARSE_BYTES = 1_000_000
MAX_PARTS = 50
MAX_RECIPIENTS = 100

HARD, SOFT, SUCCESS, UNKNOWN = "hard", "soft", "success", "unknown"

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC = re.compile(r"^\s*(?:smtp\s*;\s*)?([245])\d\d(?:[\s-]|$)", re.IGNORECASE)
# 5.x.x codes that speak of the message, the sender or a passing state, not of the address:
# system (x.3), content (x.6) and policy (x.7, e.g. a DMARC failure of ours), mailbox full,
# delivery time expired. Counted like soft bounces rather than suppressing at once.
_NOT_ABOUT_ADDRESS = {"3", "6", "7"}
_PASSING = {("2", "2"), ("4", "7")}


def status_class(text: str | None) -> tuple[str, str, str] | None:
    """The first enhanced status code (class, subject, detail) in a text, e.g. ("5", "1", "1")."""
    m = _ENHANCED.search(text or "")
    return (m.group(1), m.group(2), m.group(3)) if m else None


def verdict_for_code(text: str | None) -> str:
    """HARD, SOFT, SUCCESS or UNKNOWN from an SMTP reply or status text ("smtp; 550 5.1.1 …")."""
    code = status_class(text)
    if code is None:
        m = _BASIC.match(text or "")
        if not m:
            return UNKNOWN
        return {"2": SUCCESS, "4": SOFT, "5": HARD}[m.group(1)]
    klass, subject, detail = code
    if klass == "2":
        return SUCCESS
    if klass == "4" or subject in _NOT_ABOUT_ADDRESS or (subject, detail) in _PASSING:
        return SOFT
    return HARD


@dataclass(frozen=True)
class RecipientStatus:
    final_recipient: str = ""
    original_recipient: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""

    @property
    def verdict(self) -> str:
        """What the report says about this address; UNKNOWN when it is not plain."""
        if self.action in ("delivered", "relayed", "expanded"):
            return SUCCESS
        if self.action == "delayed":
            return SOFT
        if self.action != "failed":
            return UNKNOWN
        if status_class(self.status) is None:
            return UNKNOWN  # Status is required (RFC 3464 2.3.4): without it, nothing is plain
        return verdict_for_code(self.status)


@dataclass
class Report:
    is_dsn: bool = False
    reporting_mta: str = ""
    envelope_id: str = ""
    message_id: str = ""  # the Message-ID of the message that bounced, from the returned headers
    subject: str = ""
    sender: str = ""
    auto_reply: bool = False
    recipients: list[RecipientStatus] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value: object, limit: int = 1000) -> str:
    """One line of printable text (PostgreSQL refuses NUL in text and JSON)."""
    text = str(value or "").encode("utf-8", "replace").decode("utf-8")  # no lone surrogates either
    return " ".join(_CONTROL.sub("", text).split())[:limit]


def _address(value: object) -> str:
    """`rfc822; Jane@Example.org` -> `Jane@Example.org`."""
    text = clean(value, 400)
    if ";" in text:
        text = text.split(";", 1)[1]
    return text.strip().strip("<>").strip()[:254]


def _blocks_from_text(text: str) -> list[Message]:
    parser = HeaderParser(policy=policy.compat32)
    chunks = re.split(r"\r?\n\s*\r?\n", text.strip())
    return [parser.parsestr(chunk.strip() + "\n") for chunk in chunks if chunk.strip()]


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(payload, list) and encoding not in ("base64", "quoted-printable"):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, list):
        # The parser split still-encoded text into blocks: join it back, then decode it.
        text = "\n".join(p.as_string() for p in payload if isinstance(p, Message))
        part = Message()
        part["Content-Transfer-Encoding"] = encoding
        part.set_payload(text)
    body = part.get_payload(decode=True) or b""
    return _blocks_from_text(body.decode("utf-8", "replace") if isinstance(body, bytes) else "")


def _read_status(part: Message, report: Report) -> None:
    blocks = _status_blocks(part)
    if not blocks:
        report.problems.append("the delivery-status part is empty")
        return
    head, rest = blocks[0], blocks[1:]
    report.reporting_mta = clean(head.get("Reporting-MTA"), 255)
    report.envelope_id = clean(head.get("Original-Envelope-Id"), 255)
    for block in rest[:MAX_RECIPIENTS]:
        report.recipients.append(RecipientStatus(
            final_recipient=_address(block.get("Final-Recipient")),
            original_recipient=_address(block.get("Original-Recipient")),
            action=clean(block.get("Action"), 32).lower(),
            status=clean(block.get("Status"), 64),
            diagnostic=clean(block.get("Diagnostic-Code"), 1000)))
    if not report.recipients:
        report.problems.append("the delivery-status part names no recipient")


def _returned_message_id(part: Message) -> str:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        return clean(inner.get("Message-ID"), 255) if isinstance(inner, Message) else ""
    body = part.get_payload(decode=True) or b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else ""
    headers = HeaderParser(policy=policy.compat32).parsestr(text)
    return clean(headers.get("Message-ID"), 255)


_AUTO_SUBJECT = re.compile(r"^\s*(auto(matic)?[ -]?reply|out of (the )?office|away|vacation)\b", re.I)


def _is_auto_reply(msg: Message) -> bool:
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    return (auto.startswith("auto-replied") or "X-Autoreply" in msg or "X-Autorespond" in msg
            or precedence == "auto_reply" or bool(_AUTO_SUBJECT.match(str(msg.get("Subject", "")))))


def _walk(msg: Message, report: Report) -> None:
    for n, part in enumerate(msg.walk()):
        if n >= MAX_PARTS:
            report.problems.append(f"more than {MAX_PARTS} parts; the rest was not read")
            return
        ctype = part.get_content_type()
        if ctype == "message/delivery-status" and not report.recipients:
            _read_status(part, report)
        elif ctype in ("message/rfc822", "text/rfc822-headers") and not report.message_id:
            report.message_id = _returned_message_id(part)


def _read(raw: bytes, report: Report) -> None:
    if len(raw) > MAX_PARSE_BYTES:
        report.problems.append(f"larger than {MAX_PARSE_BYTES} bytes; only the beginning was read")
        raw = raw[:MAX_PARSE_BYTES]
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    report.subject = clean(msg.get("Subject"), 200)
    report.sender = clean(msg.get("From"), 200)
    report.is_dsn = (msg.get_content_type() == "multipart/report"
                     and str(msg.get_param("report-type", "")).lower() == "delivery-status")
    report.auto_reply = _is_auto_reply(msg)
    _walk(msg, report)
    if not report.is_dsn and report.recipients:
        report.is_dsn = True  # a report forwarded or wrapped in another multipart


def parse(raw: bytes) -> Report:
    """Read a bounce; never raises, whatever the input."""
    report = Report()
    try:
        _read(raw, report)
    except Exception as exc:  # hostile input must not stop bounce handling
        report.problems.append(f"unreadable: {type(exc).__name__}")
        report.recipients = [r for r in report.recipients if r.final_recipient]
    return report
