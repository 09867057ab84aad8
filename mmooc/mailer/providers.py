"""What django-anymail leaves to us, provider by provider.

A relayed group post is a finished message: its own bytes, with the list's headers and the
author's parts and attachments. Providers with an API for a whole RFC 5322 message get
those bytes unchanged (RAW_APIS); for the others the copy is read back into its pieces,
every header a list reader relies on kept (`parsed_copy`).

Postmark separates bulk from transactional mail in message streams: course and group mail
goes on the broadcast stream, everything else on the transactional one (`esp_extra`).
"""

from __future__ import annotations

import base64
from email import encoders, message_from_bytes, policy
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.message import Message as MIMEMessage
from email.mime.base import MIMEBase
from email.utils import parseaddr
from typing import Any

from anymail.message import AnymailMessage
from django.conf import settings

# Providers whose API takes a whole message, and how it is called. Amazon SES sends
# anymail's message() as SendEmail Content.Raw, so RawCopy.message() is all it needs.
RAW_APIS = {
    "amazon_ses": "SendEmail, Content.Raw",
    "mailgun": "messages.mime",
    "postal": "send/raw",
    "sparkpost": "transmissions, content.email_rfc822",
}

# Providers whose API takes many finished messages in one call, and how many at most. Each
# copy keeps its own subject, bodies, headers and stream; each gets its own answer.
MESSAGE_BATCH = {"postmark": 500}  # POST /email/batch

# Header fields of a relayed copy that are not passed on as extra headers when the copy is
# rebuilt from its parts: addresses and the subject have fields of their own in every API,
# the MIME structure is rebuilt by the provider, and trace fields are the receiver's.
NOT_PASSED = frozenset({
    "from", "to", "cc", "bcc", "subject", "reply-to", "mime-version", "content-type",
    "content-transfer-encoding", "content-disposition", "content-id", "content-description",
    "return-path", "received", "delivered-to", "x-original-to", "dkim-signature",
    "domainkey-signature", "authentication-results", "arc-seal", "arc-message-signature",
    "arc-authentication-results",
})


class RawCopy(AnymailMessage):  # type: ignore[misc]  # anymail is untyped
    """One recipient's copy of a relayed post, whose bytes are final."""

    def __init__(self, data: bytes, recipient: str, from_email: str, **kwargs: Any) -> None:
        super().__init__(subject="", body="", from_email=from_email, to=[recipient], **kwargs)
        self.data = data

    def message(self, *args: Any, **kwargs: Any) -> Any:
        """The copy as Python's email package reads it (anymail's Amazon SES backend sends this)."""
        return message_from_bytes(self.data, policy=policy.compat32)


def from_header(data: bytes) -> str:
    """The From field of a finished message, decoded ("" when it has none)."""
    head = message_from_bytes(data.partition(b"\r\n\r\n")[0] + b"\r\n\r\n", policy=policy.default)
    return str(head.get("From", ""))


def addr_spec(value: str) -> str:
    return parseaddr(value)[1]


def install_raw(connection: Any, provider: str) -> None:
    """Have `connection` (an anymail backend) send a RawCopy through the provider's raw API."""
    make = _RAW_PAYLOADS.get(provider)
    if make is None:
        return
    payload_class = make()
    build = connection.build_message_payload

    def build_message_payload(message: Any, defaults: Any) -> Any:
        if isinstance(message, RawCopy):
            return payload_class(message, defaults, connection)
        return build(message, defaults)

    connection.build_message_payload = build_message_payload


def _mailgun() -> type:
    from anymail.backends.mailgun import MailgunPayload

    class MailgunRawPayload(MailgunPayload):  # type: ignore[misc]  # anymail is untyped
        """POST /v3/<domain>/messages.mime: the recipient, options and the message as a file."""

        def get_api_endpoint(self) -> str:
            return str(super().get_api_endpoint()) + ".mime"

        def serialize_data(self) -> dict[str, Any]:
            data = super().serialize_data()
            self.files = [("message", ("message.mime", self.message.data, "message/rfc822"))]
            return {k: v for k, v in data.items() if k == "to" or k.startswith(("o:", "v:"))}

    return MailgunRawPayload


def _sparkpost() -> type:
    from anymail.backends.sparkpost import SparkPostPayload

    class SparkPostRawPayload(SparkPostPayload):  # type: ignore[misc]
        """A transmission whose content is the whole message (content.email_rfc822)."""

        def serialize_data(self) -> str:
            self._finalize_recipients()
            # JSON carries text: bytes that are not UTF-8 (a rare 8-bit legacy body) are replaced.
            self.data["content"] = {"email_rfc822": self.message.data.decode("utf-8", "replace")}
            return str(self.serialize_json(self.data))

    return SparkPostRawPayload


def _postal() -> type:
    from anymail.backends.postal import PostalPayload

    class PostalRawPayload(PostalPayload):  # type: ignore[misc]
        """POST /api/v1/send/raw: envelope sender, recipients and the message in base64."""

        def get_api_endpoint(self) -> str:
            return "api/v1/send/raw"

        def serialize_data(self) -> str:
            message = self.message
            mail_from = self.data.get("sender") or addr_spec(message.from_email)
            return str(self.serialize_json({"mail_from": mail_from, "rcpt_to": list(message.to),
                                        "data": base64.b64encode(message.data).decode("ascii"),
                                        "bounce": False}))

    return PostalRawPayload


_RAW_PAYLOADS = {"mailgun": _mailgun, "sparkpost": _sparkpost, "postal": _postal}


def parsed_copy(data: bytes, recipient: str) -> AnymailMessage:
    """A finished message rebuilt from its parts, for an API that builds the MIME itself.

    Kept: From, Reply-To, Subject, every other header but those in NOT_PASSED (Message-ID,
    In-Reply-To, References, Date, Sender, List-*, Precedence, Auto-Submitted, X-Loop, …),
    the first text and HTML bodies, and every other part as an attachment (inline when it
    has a Content-ID). Cc is shown only by providers with a raw API: the others would send
    a copy to each address in it.
    """
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    headers: dict[str, str] = {}
    for name, value in parsed.raw_items():
        if name.lower() not in NOT_PASSED:
            # As written (RFC 2047 words stay encoded: some APIs send header text as 8-bit),
            # unfolded; the first of a repeated field wins (the per-copy ones come first).
            text = value if value.isascii() else str(parsed.get(name, ""))
            headers.setdefault(name, " ".join(text.split()))
    reply_to = [str(a) for h in parsed.get_all("Reply-To", []) if isinstance(h, AddressHeader)
                for a in h.addresses]
    text, html, attachments = _bodies(parsed)
    message = AnymailMessage(subject=" ".join(str(parsed.get("Subject", "")).split()), body=text or "",
                             from_email=str(parsed.get("From", "")), to=[recipient],
                             reply_to=reply_to or None, headers=headers)
    if html is not None:
        message.attach_alternative(html, "text/html")
    for part in attachments:
        _attach(message, part)
    return message


def _bodies(parsed: EmailMessage) -> tuple[str | None, str | None, list[MIMEMessage]]:
    text = html = None
    attachments: list[MIMEMessage] = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        attached = part.get_content_disposition() == "attachment"
        if kind == "text/plain" and text is None and not attached:
            text = part.get_content()
        elif kind == "text/html" and html is None and not attached:
            html = part.get_content()
        else:
            attachments.append(part)
    return text, html, attachments


def _attach(message: AnymailMessage, part: MIMEMessage) -> None:
    content = part.get_payload(decode=True)
    if not isinstance(content, bytes):
        content = part.as_bytes()  # a message/rfc822 part
    if part.get("Content-ID"):
        maintype, _, subtype = part.get_content_type().partition("/")
        inline = MIMEBase(maintype, subtype)
        inline.set_payload(content)
        encoders.encode_base64(inline)
        inline["Content-ID"] = str(part["Content-ID"])
        inline.add_header("Content-Disposition", "inline", **({"filename": part.get_filename()}
                                                            if part.get_filename() else {}))
        message.attach(inline)
    else:
        message.attach(part.get_filename() or None, content, part.get_content_type())


def esp_extra(provider: str, kind: str) -> dict[str, Any]:
    """Per-message options of the provider's API for a message of this kind (Message.kind)."""
    if provider == "postmark":
        stream = (settings.POSTMARK_BROADCAST_STREAM if kind == "subscribed"
                  else settings.POSTMARK_TRANSACTIONAL_STREAM)
        return {"MessageStream": stream} if stream else {}
    return {}


def post_batch(connection: Any, messages: list[Any]) -> list[tuple[str, str, str]]:
    """Send finished messages in one call of the provider's batch API (MESSAGE_BATCH).

    Returns (outcome, error, provider id) per message, in order. Raises anymail's errors
    for the call as a whole (AnymailUnsupportedFeature when a message cannot be carried).
    """
    from anymail.backends.postmark import PostmarkPayload
    from anymail.exceptions import AnymailRequestsAPIError

    class PostmarkBatchPayload(PostmarkPayload):  # type: ignore[misc]
        """POST /email/batch: a list of whole messages, each answered on its own."""

        def get_api_endpoint(self) -> str:
            return "email/batch"

        def serialize_data(self) -> str:
            return str(self.serialize_json([copy.data for copy in copies]))

    defaults = connection.send_defaults
    copies = [PostmarkPayload(m, defaults, connection) for m in messages]
    payload = PostmarkBatchPayload(messages[0], defaults, connection)
    response = connection.post_to_esp(payload, messages[0])
    try:
        answers = response.json()
    except ValueError:
        answers = None
    if response.status_code == 422 and isinstance(answers, dict):  # the call as a whole was refused
        return [_postmark_outcome(answers)] * len(messages)
    if not isinstance(answers, list) or len(answers) != len(messages):
        raise AnymailRequestsAPIError("Postmark's batch answer does not name each message",
                                      email_message=messages[0], payload=payload, response=response,
                                      backend=connection)
    return [_postmark_outcome(answer) for answer in answers]


def _postmark_outcome(answer: Any) -> tuple[str, str, str]:
    from mmooc.mailer.transports import PERMANENT, SENT, TRANSIENT

    code = answer.get("ErrorCode", 0) if isinstance(answer, dict) else -1
    text = str(answer.get("Message", "")) if isinstance(answer, dict) else repr(answer)[:200]
    if code == 0:
        return SENT, "", str(answer.get("MessageID") or "")
    if code == 406:  # an inactive recipient: a hard bounce or a complaint before
        return PERMANENT, f"rejected by the provider: {text}", ""
    if code == 300:  # an invalid message or address
        return PERMANENT, f"invalid for the provider: {text}", ""
    return TRANSIENT, f"Postmark error {code}: {text}", ""
