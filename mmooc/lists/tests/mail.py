"""Raw messages for the list tests, built as a mail client would send them."""

from __future__ import annotations

import itertools

_n = itertools.count(1)


def raw_post(*, sender: str = "alice@example.org", to: str = "py-group-1@lists.course.example.org",
             subject: str = "Hello group", body: str = "Hi all, shall we meet on Tuesday?",
             message_id: str | None = None, headers: dict[str, str] | None = None,
             name: str = "Alice Smith", eol: bytes = b"\r\n") -> bytes:
    """A plain text post as bytes; `headers` adds or (when the value is None) removes fields."""
    message_id = message_id if message_id is not None else f"<post-{next(_n)}@mail.example.org>"
    fields: dict[str, str | None] = {
        "Return-Path": f"<{sender}>",
        "Received": "from mail.example.org by mx.course.example.org; Mon, 2 Nov 2026 10:00:00 +0000",
        "From": f"{name} <{sender}>" if name else sender,
        "To": to,
        "Subject": subject,
        "Date": "Mon, 2 Nov 2026 10:00:00 +0000",
        "Message-ID": message_id,
        "MIME-Version": "1.0",
        "Content-Type": 'text/plain; charset="utf-8"',
        "Content-Transfer-Encoding": "8bit",
    }
    for key, value in (headers or {}).items():
        fields[key] = value
    head = "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None and v != "")
    text = head + "\n" + body + "\n"
    return text.replace("\n", "\r\n").encode("utf-8").replace(b"\r\n", eol)


def multipart_post(*, sender: str = "alice@example.org", to: str = "py-group-1@lists.course.example.org",
                   subject: str = "Notes with a picture", message_id: str | None = None,
                   references: str = "") -> bytes:
    """A text + HTML post with a PNG attachment, as a mail client sends it."""
    message_id = message_id or f"<multi-{next(_n)}@mail.example.org>"
    refs = f"In-Reply-To: {references.split()[-1]}\r\nReferences: {references}\r\n" if references else ""
    return (
        f"From: Alice Smith <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: {message_id}\r\n{refs}"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        "--outer\r\n"
        'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        "--inner\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        "Here are my notes =E2=80=94 see the picture.\r\n"
        "--inner\r\n"
        'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        "<p>Here are my <b>notes</b> =E2=80=94 see the picture.</p>\r\n"
        "--inner--\r\n"
        "--outer\r\n"
        'Content-Type: image/png; name="notes.png"\r\nContent-Disposition: attachment; filename="notes.png"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\r\n"
        "--outer--\r\n"
    ).encode()
