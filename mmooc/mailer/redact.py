"""Learners' links with their tokens hidden, for staff reading copies in the outbox.

Every link that acts for a learner (confirm, personal page, leave, delete, unsubscribe,
group check, archive) carries a token of one shape: Django's TimestampSigner with "." over
the learner's public id (32 hex digits, maybe prefixed by a scope letter or a group's
id), then a base62 time and a base64url signature. Whoever holds a copy with the token
can act as the learner, so the outbox shows `https://…/me/…` instead. The raw source is
rebuilt with the text parts decoded, redacted and encoded again the way they were: a
token inside quoted-printable or base64 is found too.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy

REDACTED = "…"
TOKEN = re.compile(r"(?<![A-Za-z0-9_-])(?:[0-9a-f]{32}-)?[a-z]?[0-9a-f]{32}\.[0-9A-Za-z]{1,12}\.[A-Za-z0-9_-]{20,}")
TOKEN_BYTES = re.compile(TOKEN.pattern.encode())


def redact_text(text: str) -> str:
    return TOKEN.sub(REDACTED, text)


def redact_message(data: bytes) -> bytes:
    """The message as stored, with every learner token hidden, in headers and in each text part."""
    mail = message_from_bytes(data, policy=policy.default)
    changed = False
    for part in mail.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        try:
            content = part.get_content()
        except (LookupError, UnicodeError):  # a charset Python does not know: left to the byte pass
            continue
        redacted = redact_text(content)
        if redacted != content:
            cte = part.get("Content-Transfer-Encoding", "").lower()
            part.set_content(redacted, subtype=part.get_content_subtype(), charset="utf-8",
                             cte=cte if cte in ("quoted-printable", "base64", "8bit") else None)
            changed = True
    out = mail.as_bytes() if changed else data
    return TOKEN_BYTES.sub(REDACTED.encode(), out)
