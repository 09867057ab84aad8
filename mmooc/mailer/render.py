"""A Message prepared once, then personalized per delivery into the bytes that go on the wire.

`prepare(message)` renders the Markdown (sanitized, CSS inlined) and serializes every
header that is the same for all recipients. `Prepared.personalize(...)` then only fills
placeholders, adds the per-copy headers (To, Subject, Date, Message-ID,
List-Unsubscribe) and quoted-printable-encodes the two parts: no email.message objects
per copy. Raw messages (relayed posts) keep their bytes; per-copy headers go on top.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate

from django.conf import settings
from django.utils import translation

from mmooc.lib import mailheaders as mh
from mmooc.lib.mailrender import UNSUBSCRIBE_VAR, Rendered, escape_html, render
from mmooc.mailer import refvalues
from mmooc.mailer.models import Message, made_message_id
from mmooc.mailer.verp import make_unsubscribe_address

ONE_CLICK = "List-Unsubscribe=One-Click"
_date_cache: tuple[int, str] = (0, "")


def now_date() -> str:
    """The Date header value; formatted once per second."""
    global _date_cache
    second = int(time.time())
    if _date_cache[0] != second:
        _date_cache = (second, formatdate(second, usegmt=True))
    return _date_cache[1]


@dataclass
class Parts:
    """One recipient's copy as separate pieces, for provider APIs."""

    subject: str
    text: str
    html: str
    headers: dict[str, str]


class Prepared:
    """A structured (Markdown) message ready to be personalized."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.subscribed = message.kind == Message.SUBSCRIBED
        # An automatic reply (a list's notice to a non-member) goes out with a null envelope
        # sender, so a failure to deliver it can never start a loop (RFC 3834, MAIL_RULES 24).
        self.null_sender = message.headers.get("Auto-Submitted", "no").lower() != "no"
        # Its footer in the language the message was written in (settings' default if unsaid).
        with translation.override(message.headers.get("Content-Language") or settings.LANGUAGE_CODE):
            self.rendered: Rendered = render(subject=message.subject, body=message.body,
                                             footer=message.footer, unsubscribe=self.subscribed)
        self.boundary = f"=_{message.public_id.hex}"
        self.id_hex, self.id_domain = message.public_id.hex, message.id_domain()
        # Values each copy gets from its ref when it is sent (the engine adds them to its context).
        self.ref_values = refvalues.kind(message)
        self.from_header = mh.address_header(message.from_email)
        self.static = self._static_headers().encode("utf-8")
        self.text = mh.EncodedTemplate(self.rendered.text.parts)
        self.html = mh.EncodedTemplate(self.rendered.html.parts)

    def _static_headers(self) -> str:
        m = self.message
        lines = [mh.line("From", self.from_header)]
        if m.reply_to:
            lines.append(mh.line("Reply-To", mh.address_header(m.reply_to)))
        lines.append(mh.line("MIME-Version", "1.0"))
        lines += self.list_lines()
        lines += [mh.line(k, mh.check_value(k, v)) for k, v in m.headers.items()]
        lines.append(mh.line("Content-Type", mh.content_type_alternative(self.boundary)))
        return "".join(lines)

    def list_lines(self) -> list[str]:
        m = self.message
        lines = []
        if m.list_id:
            lines.append(mh.line("List-Id", mh.list_id(m.list_id, m.list_name)))
        if self.subscribed:
            lines.append(mh.line("List-Unsubscribe-Post", ONE_CLICK))
            lines.append(mh.line("Precedence", "bulk"))
        return lines

    def subject(self, context: Mapping[str, str]) -> str:
        return mh.check_value("The subject", self.rendered.subject.fill(context))

    def unsubscribe_header(self, delivery_id: int, context: Mapping[str, str]) -> str:
        url = str(context.get(UNSUBSCRIBE_VAR, ""))
        return mh.list_unsubscribe(url, make_unsubscribe_address(delivery_id))

    def message_id(self, delivery_id: int, kept: str = "") -> str:
        """The copy's Message-ID: the one its row keeps, or else made from the ids."""
        return kept or made_message_id(self.id_hex, delivery_id, self.id_domain)

    def personalize(self, delivery_id: int, recipient: str, context: Mapping[str, str],
                    rfc_message_id: str) -> bytes:
        """The whole message for one recipient, CRLF line ends, ready for SMTP DATA."""
        head = [
            mh.line("To", recipient),
            mh.line("Subject", mh.encode_words(self.subject(context))),
            mh.line("Date", now_date()),
            mh.line("Message-ID", self.message_id(delivery_id, rfc_message_id)),
        ]
        if self.subscribed:
            head.append(mh.line("List-Unsubscribe", self.unsubscribe_header(delivery_id, context)))
        body = mh.alternative(self.boundary, self.text.fill(context), self.html.fill(context, escape_html))
        return b"".join(("".join(head).encode("utf-8"), self.static, b"\r\n", body))

    def parts(self, delivery_id: int, context: Mapping[str, str], rfc_message_id: str) -> Parts:
        """The same copy as pieces, for a provider API that builds the MIME itself."""
        headers = {"Message-ID": self.message_id(delivery_id, rfc_message_id)}
        if self.subscribed:
            headers["List-Unsubscribe"] = self.unsubscribe_header(delivery_id, context)
            headers["List-Unsubscribe-Post"] = ONE_CLICK
            headers["Precedence"] = "bulk"
        if self.message.list_id:
            headers["List-Id"] = mh.list_id(self.message.list_id, self.message.list_name)
        headers.update(self.message.headers)
        return Parts(self.subject(context), self.rendered.text.fill(context),
                     self.rendered.html.fill(context, escape_html), headers)


class PreparedRaw:
    """A relayed post: its bytes are kept; To and List-Unsubscribe are added on top."""

    def __init__(self, message: Message) -> None:
        self.message = message
        assert message.raw is not None, "a relayed post keeps its bytes"
        self.ref_values = refvalues.kind(message)  # its leave links (posts queued before: in their rows)
        self.raw = bytes(message.raw)
        self.eol = b"\r\n" if b"\r\n" in self.raw[:4096] else b"\n"
        head, _, _ = self.raw.partition(self.eol + self.eol)
        names = {ln.split(b":", 1)[0].strip().lower() for ln in head.split(self.eol) if ln[:1] not in b" \t"}
        self.has_to = b"to" in names
        extra = [mh.line(k, mh.check_value(k, v)) for k, v in message.headers.items()]
        if message.list_id and b"list-id" not in names:
            extra.append(mh.line("List-Id", mh.list_id(message.list_id, message.list_name)))
        self.static = "".join(extra).encode("utf-8").replace(b"\r\n", self.eol)
        # What follows the per-copy headers, the same for every copy: a transport may keep it
        # here in the form it sends (the SMTP transport: CRLF and dot-stuffed), made once.
        self.tail: bytes | None = None

    def personalize(self, delivery_id: int, recipient: str, context: Mapping[str, str],
                    rfc_message_id: str) -> bytes:
        return self.head(delivery_id, recipient, context) + self.static + self.raw

    def head(self, delivery_id: int, recipient: str, context: Mapping[str, str]) -> bytes:
        """The header lines of one copy that go on top of the post (each ends with the post's line end)."""
        head = [] if self.has_to else [mh.line("To", recipient)]
        if context.get(UNSUBSCRIBE_VAR):
            url = str(context[UNSUBSCRIBE_VAR])
            value = mh.list_unsubscribe(url, make_unsubscribe_address(delivery_id))
            head.append(mh.line("List-Unsubscribe", value))
            head.append(mh.line("List-Unsubscribe-Post", ONE_CLICK))
        return "".join(head).encode("utf-8").replace(b"\r\n", self.eol)


def prepare(message: Message) -> Prepared | PreparedRaw:
    return PreparedRaw(message) if message.raw is not None else Prepared(message)
