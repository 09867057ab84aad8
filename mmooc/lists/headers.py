"""The relayed copy of a group post: the author's message with the list's headers.

Built once per post (MAIL_RULES 1, 3, 5–7, 16–21, 42). The header block is rewritten
field by field from the raw bytes and the body is kept byte for byte (line ends made
CRLF), so attachments, HTML and text parts reach the members exactly as written. The
mail engine adds each copy's To, List-Unsubscribe and envelope sender.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.utils import format_datetime

from mmooc.lib import mailheaders
from mmooc.lists.inbound import Defective, clean_text

# Inbound fields never passed on: ours replace them, or they are the provider's or the
# transport's, or they would act on every member (read receipts), or they are signatures
# our changes break (the provider signs the copy for our domain).
DROPPED = {
    "from", "sender", "reply-to", "subject", "to", "bcc", "return-path", "delivered-to",
    "x-original-to", "x-original-from", "envelope-to", "x-envelope-from", "x-envelope-to",
    "errors-to", "return-receipt-to", "disposition-notification-to", "x-confirm-reading-to",
    "dkim-signature", "x-google-dkim-signature", "domainkey-signature", "arc-seal",
    "arc-message-signature", "arc-authentication-results", "authentication-results",
    "x-auto-response-suppress", "content-length", "lines", "status", "x-status",
}
DROPPED_PREFIXES = ("list-", "x-mailgun-", "x-ses-", "x-pm-", "x-postmark-", "x-sg-", "x-mailjet-",
                    "x-sparkpost-", "x-brevo-", "x-mandrill-")
_NAME = re.compile(rb"^[!-9;-~]+$")
REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|odp|res|vs|ref|rif|ynt)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*",
                          re.IGNORECASE)
MAX_NAME = 64
MAX_SUBJECT = 400


@dataclass(frozen=True)
class ListInfo:
    """The group as its relayed copies name it."""

    name: str  # "Group 12"
    address: str  # "py-3-group-12@lists.example.org"
    archive_url: str
    help_url: str = ""  # where a member finds how to leave or get a digest (their page, by email)
    owner: str = ""  # the organizers' address

    @property
    def list_id(self) -> str:
        return list_id_for(self.address)

    @property
    def tag(self) -> str:
        return f"[{self.name}]"


def list_id_for(address: str) -> str:
    """`py-3-group-12@lists.example.org` → `py-3-group-12.lists.example.org` (a dot-atom)."""
    local, _, domain = address.strip().lower().rpartition("@")
    ident = re.sub(r"[^a-z0-9!#$%&'*+/=?^_`{|}~.-]", "-", f"{local}.{domain}")
    return re.sub(r"\.{2,}", ".", ident).strip(".")[:255]


def author_label(name: str, group_name: str) -> str:
    """`Alice Smith via Group 12`: one line, and nothing that reads as an address (rule 16)."""
    name = clean_text(name).replace("@", " at ").replace("<", "").replace(">", "")
    name = " ".join(name.split())[:MAX_NAME].strip() or "A member"
    return f"{name} via {group_name}"


def shown_address(name: str, address: str) -> str:
    """The address as a mail client shows a `From` written by `_display` (decoded, quoted if needed)."""
    return str(Address(display_name=name, addr_spec=address))


def _display(name: str, address: str) -> str:
    """`"Name" <address>`, the name RFC 2047-encoded when it is not ASCII."""
    if name.isascii():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return f"{mailheaders.encode_words(name)} <{address}>"


def tag_subject(subject: str, tag: str) -> str:
    """`Re: [Group 12] topic`: the tag once, and `Re:` at most once, however many came in."""
    rest = clean_text(subject).replace(tag, " ")
    reply = False
    while True:
        rest = rest.strip()
        match = REPLY_PREFIX.match(rest)
        if not match:
            break
        reply, rest = True, rest[match.end():]
    rest = " ".join(rest.split())[:MAX_SUBJECT] or "(no subject)"
    return f"Re: {tag} {rest}" if reply else f"{tag} {rest}"


def split_fields(raw: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """The header fields as (lower-cased name, raw lines without the final CRLF), and the body."""
    match = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[:match.start()], raw[match.end():]) if match else (raw, b"")
    lines = re.split(rb"\r?\n", head)
    while lines and not lines[-1]:
        lines.pop()  # a message that ends with its header block
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]  # an mbox separator, not a field
    fields: list[tuple[str, bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            previous, value = fields[-1]
            fields[-1] = (previous, value + b"\r\n" + line)
            continue
        name = line.partition(b":")[0].rstrip(b" \t")
        if b":" not in line or not _NAME.match(name):
            raise Defective("a line of its header is not a header field")
        fields.append((name.decode("ascii").lower(), line))
    return fields, body


def _kept(name: str) -> bool:
    return name not in DROPPED and not name.startswith(DROPPED_PREFIXES)


def build_copy(raw: bytes, *, subject: str, author_name: str, author_address: str, info: ListInfo,
               now: datetime) -> bytes:
    """The bytes every member's copy starts from."""
    fields, body = split_fields(raw)
    names = {name for name, _ in fields}
    kept = [value for name, value in fields if _kept(name)]
    ours = [
        mailheaders.line("From", _display(author_label(author_name, info.name), info.address)),
        mailheaders.line("Reply-To", _display(info.name, info.address)),
        mailheaders.line("X-Original-From", _display(clean_text(author_name)[:MAX_NAME], author_address)),
        mailheaders.line("Subject", mailheaders.encode_words(tag_subject(subject, info.tag))),
        mailheaders.line("List-Id", mailheaders.list_id(info.list_id, info.name)),
        mailheaders.line("List-Post", f"<mailto:{info.address}>"),
        mailheaders.line("List-Archive", f"<{info.archive_url}>"),
    ]
    if info.help_url:
        ours.append(mailheaders.line("List-Help", f"<{info.help_url}>"))
    if info.owner:
        ours.append(mailheaders.line("List-Owner", f"<mailto:{info.owner}>"))
    ours.append(mailheaders.line("X-Loop", info.address))
    if "precedence" not in names:
        ours.append(mailheaders.line("Precedence", "list"))
    ours.append(mailheaders.line("X-Auto-Response-Suppress", "OOF, AutoReply"))
    if "date" not in names:
        ours.append(mailheaders.line("Date", format_datetime(now)))
    body = re.sub(rb"\r?\n", b"\r\n", body)
    content = [value for name, value in fields if name.startswith("content-") and _kept(name)]
    kept = [value for name, value in fields if _kept(name) and not name.startswith("content-")]
    if "mime-version" not in names:
        ours.append(mailheaders.line("MIME-Version", "1.0"))
    boundary = "=_group_" + hashlib.sha256(body).hexdigest()[:32]
    ours.append(mailheaders.line("Content-Type", f'multipart/mixed; boundary="{boundary}"'))
    head = b"".join(v + b"\r\n" for v in kept) + "".join(ours).encode("ascii")
    return head + b"\r\n" + with_footer(body, content, boundary, info)


def footer_text(info: ListInfo) -> str:
    """The two lines under every post: how to leave or switch to a digest or to web only (no
    group mail), where the archive is."""
    leave = (f"Leave {info.name}, or get one daily digest or no group mail (web only) instead: "
             f"{info.help_url or info.archive_url}")
    return f"-- \r\n{leave}\r\nEvery post of the group, in threads: {info.archive_url}\r\n"


def with_footer(body: bytes, content: list[bytes], boundary: str, info: ListInfo) -> bytes:
    """The author's message, byte for byte, as the first part of a multipart/mixed whose second
    part is the list's footer: what mail clients show under the post, whatever its structure."""
    inner = b"".join(v + b"\r\n" for v in content) or b'Content-Type: text/plain; charset="us-ascii"\r\n'
    mark = f"--{boundary}".encode("ascii")
    footer = ('Content-Type: text/plain; charset="utf-8"\r\nContent-Disposition: inline\r\n'
              "Content-Transfer-Encoding: 8bit\r\n\r\n" + footer_text(info)).encode("utf-8")
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return b"".join([b"This is a message in MIME format.\r\n", mark, b"\r\n", inner, b"\r\n", body,
                     mark, b"\r\n", footer, mark, b"--\r\n"])
