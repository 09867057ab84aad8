"""Malformed and hostile messages: a hand-made corpus and hypothesis strategies."""

from __future__ import annotations

from hypothesis import strategies as st

from mmooc.lists.tests.mail import multipart_post, raw_post

GROUP = "py-3-group-1@lists.course.example.org"


def _nested(depth: int, kind: str = "multipart") -> bytes:
    head = b"From: mallory@example.org\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n"
    body = b""
    for level in range(depth):
        if kind == "multipart":
            body += f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
        else:
            body += b"Content-Type: message/rfc822\r\n\r\nFrom: x@y\r\n"
    return head + body + b"Content-Type: text/plain\r\n\r\nbottom\r\n"


def hand_made(sender: str = "mallory@example.org") -> list[bytes]:
    """Broken headers, wrong charsets, endless nesting, huge headers, and other oddities."""
    base = raw_post(sender=sender, to=GROUP)
    cases = [
        b"",
        b"\r\n",
        b"\r\n\r\n\r\n",
        b"not an email at all",
        b"\x00" * 1000,
        bytes(range(256)) * 4,
        b"From: " + b"\xff\xfe" * 50 + b"\r\n\r\nbody",
        b"Subject: only headers\r\nFrom: " + sender.encode(),
        base.replace(b"\r\n", b"\r"),
        base.replace(b"\r\n", b"\n"),
        base.replace(b"Subject: Hello group", b"Subject: =?x-unknown?q?caf=E9?="),
        base.replace(b"Subject: Hello group", b"Subject: =?utf-8?b?!!!not-base64!!!?="),
        base.replace(b"Subject: Hello group", b"Subject: =?utf-8?q?=FF=FE=00?="),
        base.replace(b"Subject: Hello group", b"Subject: \xe9t\xe9 en latin-1 brut"),
        base.replace(b'charset="utf-8"', b'charset="utf-7"'),
        base.replace(b'charset="utf-8"', b'charset="\xff\xff"'),
        base.replace(b'charset="utf-8"', b"charset=" + b"x" * 5000),
        base.replace(b"text/plain", b"text/" + b"a" * 10000),
        base.replace(b"Content-Transfer-Encoding: 8bit", b"Content-Transfer-Encoding: base64") + b"%%%%",
        base.replace(b"Content-Transfer-Encoding: 8bit", b"Content-Transfer-Encoding: x-uuencode"),
        base.replace(b"Subject: Hello group", b"Subject: " + b"A" * 200_000),
        base.replace(b"Subject: Hello group", b"Subject: x\r\n" + b" folded\r\n" * 20_000),
        b"".join(b"X-Header-%d: value\r\n" % i for i in range(20_000)) + base,
        base.replace(b"From: Alice Smith", b"From: \"\\\"\\\\\"\"\"\"<<>>,,,;;;::: Alice"),
        base.replace(b"From: Alice Smith <", b"From: =?utf-8?q?=0D=0ABcc:_x@y?= <"),
        base.replace(b"Message-ID: <", b"Message-ID: <" + b"m" * 5000),
        base.replace(b"Message-ID: <", b"Message-ID: <<<<<"),
        base.replace(b"Message-ID:", b"Message-ID: <a@b>\r\nMessage-ID:"),
        base.replace(b"To: ", b"To: " + b"x@y, " * 10_000),
        base.replace(b"Date: ", b"Date: not a date at all "),
        base.replace(b"Date: ", b"Date: Mon, 99 Foo 99999 99:99:99 +9999 "),
        b"References: " + b"<r@x> " * 10_000 + b"\r\n" + base,
        b"In-Reply-To: <" + b"\x00" * 100 + b">\r\n" + base,
        b"Received: hop\r\n" * 100 + base,
        b"\xef\xbb\xbf" + base,  # a byte order mark before the first header
        b"From mallory@example.org Mon Nov  2 10:00:00 2026\r\n" + base,
        b" leading continuation\r\n" + base,
        b"Na\xefve-Header: x\r\n" + base,
        b": empty name\r\n" + base,
        _nested(30),
        _nested(1000),
        _nested(200, "rfc822"),
        b'From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n--\r\n',
        b'From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\n--x--\r\n',
        b'From: a@b\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
        + b"--a\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 2000 + b"--a--\r\n",
        b"From: a@b\r\nContent-Type: message/rfc822\r\n\r\n",
        b"From: a@b\r\nContent-Type: message/partial; id=x; number=1; total=2\r\n\r\npartial",
        b'From: a@b\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\n\r\nbroken report\r\n",
        multipart_post(sender=sender, to=GROUP).replace(b"--outer--", b""),
        multipart_post(sender=sender, to=GROUP).replace(b"iVBOR", b"\x00\xff\x00"),
        multipart_post(sender=sender, to=GROUP)[:700],
    ]
    # Every case once as written and once with a valid-looking From of the sender on top.
    return cases + [b"From: " + sender.encode() + b"\r\nMessage-ID: <h%d@x>\r\n" % i + c
                    for i, c in enumerate(cases)]


_header_names = st.sampled_from([
    "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Content-Type",
    "Content-Transfer-Encoding", "MIME-Version", "Date", "Sender", "Reply-To", "List-Id", "X-Loop",
    "Auto-Submitted", "Precedence", "Received", "Return-Path", "Content-Disposition", "X-Anything",
])
_values = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from([
        "=?utf-8?q?caf=C3=A9?=", "=?x-bogus?b?AAAA?=", "=?utf-8?b?====?=", "multipart/mixed",
        'multipart/mixed; boundary="b"', "message/rfc822", "text/plain; charset=unknown-8bit",
        "base64", "quoted-printable", "<a@b> <c@d>", "<>", "mallory@example.org",
        "Mallory <mallory@example.org>", "\"unterminated <x@y>", "a@b, , ,", "auto-replied", "bulk",
    ]),
)


def _line(name: str, value: str) -> bytes:
    return f"{name}: {value}\r\n".encode("utf-8", "surrogateescape")


@st.composite
def generated(draw, sender: str = "mallory@example.org") -> bytes:
    """Header soup and body soup, sometimes with a plausible sender and Message-ID on top."""
    fields = draw(st.lists(st.tuples(_header_names, _values), max_size=15))
    head = b"".join(_line(n, v) for n, v in fields)
    if draw(st.booleans()):
        head = f"From: {sender}\r\nMessage-ID: <g{draw(st.integers(0, 10**9))}@x>\r\n".encode() + head
    body = draw(st.one_of(
        st.binary(max_size=2000),
        st.lists(st.sampled_from([b"--b\r\n", b"--b--\r\n", b"Content-Type: text/plain\r\n", b"\r\n",
                                  b"Content-Type: multipart/mixed; boundary=\"b\"\r\n", b"=?utf-8?q?=FF?=",
                                  b"begin 644 x\r\n", b".\r\n", b"..\r\n", b"\x00", b"x" * 100]),
                 max_size=60).map(b"".join),
    ))
    return head + draw(st.sampled_from([b"\r\n", b"\n", b""])) + body


@st.composite
def mutated(draw, sender: str = "mallory@example.org") -> bytes:
    """A valid multipart post with bytes flipped, cut out or inserted."""
    data = bytearray(multipart_post(sender=sender, to=GROUP, message_id="<mutated@mail.example.org>"))
    for _ in range(draw(st.integers(1, 20))):
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at:at + draw(st.integers(1, 50))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=30))
        if not data:
            break
    return bytes(data)
