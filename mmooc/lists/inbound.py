"""Reading an inbound group post, and the checks that decide whether it may be relayed.

Plain functions on bytes and parsed messages, no database (MAIL_RULES 21–23, 40). Mail
arriving here may be hostile or broken in every way a parser can meet: anything the
parser cannot read cleanly is `Defective`, never an exception of another kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.errors import HeaderDefect, ObsoleteHeaderDefect
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.policy import EmailPolicy
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, cast

MAX_RECEIVED = 30
# Deeper MIME nesting or more parts than this is no human's post: refuse it unread.
MAX_DEPTH = 20
MAX_PARTS = 500
MAX_REFERENCES = 50
MAX_TEXT = 100_000
MAX_ID = 995

AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autoreply-From",
                      "X-Mail-Autoreply", "X-FC-MachineGenerated")
AUTO_PRECEDENCE = {"bulk", "junk", "auto_reply", "list"}
# Subjects out-of-office replies start with, in the languages they most often come in.
VACATION_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|auto(matic|mated)?[ -]?(reply|response|answer)\b|autoreply"
    r"|auto:|vacation|on (holiday|vacation|leave)|away from (my|the) (desk|office|email)"
    r"|abwesenheit|automatische antwort|réponse automatique|absence|respuesta automática"
    r"|fuera de la oficina|risposta automatica|fuori sede|automatisch antwoord|afwezig"
    r"|automatisk svar|resposta automática|ausente|automatyczna odpowiedź)",
    re.IGNORECASE,
)
BOUNCE_LOCAL_PARTS = {"mailer-daemon", "postmaster"}
_ID = re.compile(r"<[!-;=?-~]{1,993}>")  # printable ASCII only: ids go into headers and the database
# Parsed header values are read-only objects: one made for an earlier post serves again.
MAX_CACHED_HEADER = 998


class _ParsedOnce(EmailPolicy):
    """`email.policy.default`, each header value parsed once however often it is read.

    The library parses a header anew on every read, and reading one part's body reads its
    Content-Type a dozen times; the same few values (`text/plain; charset=utf-8`) come in
    post after post."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or len(value) > MAX_CACHED_HEADER:
            return super().header_fetch_parse(name, value)
        return _parsed_header(name, value)


@lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


READ_POLICY = _ParsedOnce()
# The policy's messages are EmailMessages, as with policy.default (which the stubs alone know).
_PARSER = cast("BytesParser[EmailMessage]", BytesParser(policy=READ_POLICY))


class Defective(ValueError):
    """A message that cannot be read cleanly; the text says what is wrong, for the sender."""


@dataclass(frozen=True)
class Inbound:
    """What the relay needs to know about one parsed inbound message."""

    message: EmailMessage
    message_id: str  # "<…>", or "" when the message has none
    subject: str
    from_address: str  # lower-cased, "" when there is none
    from_name: str
    sender_address: str  # the Sender header's address, lower-cased
    in_reply_to: str
    references: tuple[str, ...]

    @property
    def thread_candidates(self) -> list[str]:
        """Message-IDs this message answers, oldest first: where to look for its thread."""
        ids = list(self.references)
        if self.in_reply_to and self.in_reply_to not in ids:
            ids.append(self.in_reply_to)
        return ids

    @property
    def thread_root(self) -> str:
        """The thread's first message as this message names it (itself when it starts one)."""
        return (self.references[:1] or (self.in_reply_to,))[0] or self.message_id


def parse(raw: bytes) -> Inbound:
    """Parse with `email.policy.default`; `Defective` for anything not cleanly readable."""
    try:
        message = _PARSER.parsebytes(raw)
        check_structure(message)
        return _inbound(message)
    except Defective:
        raise
    except Exception as exc:  # hostile input reaches parser corners that raise anything
        raise Defective(f"it could not be read as an email ({type(exc).__name__})") from None


def check_structure(message: EmailMessage) -> None:
    """Refuse parse defects, absurd nesting and part counts, walking without recursion."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise Defective(f"its MIME parts are nested more than {MAX_DEPTH} deep")
        if count > MAX_PARTS:
            raise Defective(f"it has more than {MAX_PARTS} MIME parts")
        if part.defects:
            raise Defective(f"its MIME structure is broken ({_describe(part.defects[0])})")
        if part.is_multipart():
            parts = cast("list[Message]", part.get_payload())  # a multipart part's payload: its parts
            stack.extend((p, depth + 1) for p in parts)


def _describe(defect: Exception) -> str:
    words = re.sub(r"(?<!^)([A-Z])", r" \1", type(defect).__name__.removesuffix("Defect"))
    return words.lower()


def _inbound(message: EmailMessage) -> Inbound:
    from_name, from_address = _address(message, "From")
    return Inbound(
        message=message,
        message_id=first_id(_one(message, "Message-ID")),
        subject=clean_text(_header(message, "Subject")),
        from_address=from_address,
        from_name=from_name,
        sender_address=_address(message, "Sender")[1] if "Sender" in message else "",
        in_reply_to=first_id(_one(message, "In-Reply-To")),
        references=tuple(all_ids(_one(message, "References"))[-MAX_REFERENCES:]),
    )


def _header(message: EmailMessage, name: str) -> str:
    """A header decoded by the policy (RFC 2047 words): only where the decoded text is needed."""
    value = message.get(name)
    return "" if value is None else str(value)


def _address(message: EmailMessage, name: str) -> tuple[str, str]:
    """(display name, lower-cased address) of the first address in a header."""
    header = message.get(name)
    if header is None:
        return "", ""
    serious = [d for d in getattr(header, "defects", ()) if not isinstance(d, ObsoleteHeaderDefect)]
    addresses = getattr(header, "addresses", ())
    if any(isinstance(d, HeaderDefect) for d in serious) or not addresses:
        raise Defective(f"its {name} header is not a readable address")
    first = addresses[0]
    return clean_text(first.display_name), clean_text(first.addr_spec).lower()


def first_id(value: str) -> str:
    ids = all_ids(value)
    return ids[0] if ids else ""


def all_ids(value: str) -> list[str]:
    return [i for i in _ID.findall(value) if len(i) <= MAX_ID]


def safe_text(value: str) -> str:
    """Text any database stores: raw 8-bit bytes read as UTF-8 where they are, NUL removed."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value.replace("\x00", "")


def clean_text(value: str) -> str:
    """One line of printable text: control characters (CR, LF among them) become spaces."""
    return " ".join(safe_text(re.sub(r"[\x00-\x1f\x7f]", " ", value)).split())


# The checks. Each returns why the message must not be relayed, or "" when it may be.

def loop_reason(message: Message, list_domain: str) -> str:
    """Our own list headers on an inbound post, or too many hops (MAIL_RULES 21)."""
    domain = list_domain.lower()
    for value in _all(message, "List-Id"):
        ident = value.lower().rsplit("<", 1)[-1].strip(" >")
        if ident == domain or ident.endswith("." + domain):
            return "it carries one of our List-Id headers"
    for name in ("List-Post", "X-Loop"):
        if any("@" + domain in value.lower() for value in _all(message, name)):
            return f"it carries one of our {name} headers"
    if len(_all(message, "Received")) > MAX_RECEIVED:
        return f"it went through more than {MAX_RECEIVED} mail servers"
    return ""


def auto_reply_reason(message: Message, subject: str) -> str:
    """Out-of-office and other automatic answers (MAIL_RULES 22, RFC 3834)."""
    submitted = _one(message, "Auto-Submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"it is marked Auto-Submitted: {submitted}"
    for name in AUTO_REPLY_HEADERS:
        if name in message:
            return f"it carries {name}"
    for name in ("Precedence", "X-Precedence"):
        if _one(message, name).strip().lower() in AUTO_PRECEDENCE:
            return f"it is marked {name}: {_one(message, name).strip().lower()}"
    if VACATION_SUBJECT.match(subject):
        return "its subject is an out-of-office reply's"
    return ""


def bounce_reason(message: Message, envelope_sender: str | None, from_address: str) -> str:
    """Delivery reports and other mail from mail systems (MAIL_RULES 23)."""
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return "it has a null envelope sender"
    if _one(message, "Return-Path").strip() == "<>":
        return "it has a null return path"
    if message.get_content_type() == "multipart/report":
        return "it is a delivery report"
    if from_address.partition("@")[0] in BOUNCE_LOCAL_PARTS:
        return "it comes from a mail system (MAILER-DAEMON or postmaster)"
    return ""


def _all(message: Message, name: str) -> list[str]:
    """A header's values as received, unfolded, without the policy's parsing: the checks only
    look for words and addresses in them, and parsing every header is most of a post's cost."""
    name = name.lower()
    return [clean_text(str(v)) for k, v in message.raw_items() if k.lower() == name]


def _one(message: Message, name: str) -> str:
    values = _all(message, name)
    return values[0] if values else ""


# Text for the archive.

def body_text(message: EmailMessage) -> str:
    """The post's text for the archive: the plain part, else the HTML part made plain."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # a broken structure simply has no readable body
        part = None
    if part is None:
        return ""
    text = _decoded(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return safe_text(text).replace("\r\n", "\n")[:MAX_TEXT]


def _decoded(part: MIMEPart) -> str:
    try:
        content = part.get_content()
        if isinstance(content, str):
            return content
    except Exception:  # unknown charsets and bad encodings: fall back below
        pass
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # keep what was read before the HTML went wrong
        pass
    text = "".join(extractor.chunks)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
