"""Header lines and MIME bodies as bytes, built by hand for speed and exactness.

Python's email package folds at 78 characters and may RFC 2047-encode a long
List-Unsubscribe URL, which breaks one-click unsubscribe (MAIL_RULES 39). Here a header
line is only folded when it would pass 998 octets, only at a comma between list
elements, and only non-ASCII text (a subject, a display name) is ever encoded.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from email.utils import formataddr, getaddresses, parseaddr
from functools import lru_cache

MAX_LINE = 998
CRLF = "\r\n"
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
_ADDRESS = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


class HeaderError(ValueError):
    """A header value that would corrupt the message (CR, LF, too long, not an address)."""


def check_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise HeaderError(f"{name} must be on one line (it contains a line break)")
    return value


def check_name(name: str) -> str:
    if not _HEADER_NAME.match(name):
        raise HeaderError(f"{name!r} is not a valid header name")
    return name


def is_address(address: str) -> bool:
    """A bare address the engine can put on the wire (ASCII; IDN domains come in as A-labels)."""
    return len(address) <= 254 and bool(_ADDRESS.match(address)) and len(address.split("@")[0]) <= 64


def encode_words(text: str) -> str:
    """RFC 2047 base64 encoded-words, each at most 75 characters, for non-ASCII text."""
    if text.isascii():
        return text
    words, chunk = [], b""
    for ch in text:
        b = ch.encode("utf-8")
        if len(chunk) + len(b) > 45:  # 45 octets -> 60 base64 characters, plus 12 of wrapping
            words.append(chunk)
            chunk = b""
        chunk += b
    words.append(chunk)
    return (CRLF + " ").join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


# Pure functions of one string, asked again and again of the same few values: the course's
# From for every message composed (a grouping's 25,000 welcomes), each relayed post's sender
# for its Message-IDs. The email package's parser takes tens of microseconds a call.
@lru_cache(maxsize=1024)
def address_header(value: str) -> str:
    """A From/Reply-To value: display names encoded when non-ASCII, addresses checked."""
    check_value("address", value)
    pairs = getaddresses([value])
    if not pairs or not all(is_address(addr) for _, addr in pairs):
        raise HeaderError(f"{value!r} is not a valid email address")
    return ", ".join(formataddr((name, addr), charset="utf-8") for name, addr in pairs)


@lru_cache(maxsize=1024)
def bare_address(value: str) -> str:
    return parseaddr(value)[1]


def list_id(list_id: str, name: str = "") -> str:
    if not _DOT_ATOM.match(list_id) or len(list_id) > 255:
        raise HeaderError(f"the list id {list_id!r} must be a dot-atom like py-3.announce.example.org")
    if not name:
        return f"<{list_id}>"
    check_value("List-Id name", name)
    shown = encode_words(name) if not name.isascii() else formataddr((name, "x@y")).rsplit(" <", 1)[0]
    return f"{shown} <{list_id}>"


def list_unsubscribe(url: str, mailto: str = "") -> str:
    """Exactly one https URL, then an optional mailto, each in <> (MAIL_RULES 5, 7)."""
    check_value("List-Unsubscribe URL", url)
    if not url.startswith(("https://", "http://")) or any(c in url for c in "<>, "):
        raise HeaderError(f"the unsubscribe URL {url!r} must be an http(s) URL without , < > or spaces")
    value = f"<{url}>"
    if mailto:
        value += f", <mailto:{mailto}>"
    return value


def line(name: str, value: str) -> str:
    """One header line with CRLF; folded at list commas only if it would pass 998 octets."""
    text = f"{name}: {value}"
    if len(text) <= MAX_LINE:
        return text + CRLF
    folded = text.replace(", <", "," + CRLF + " <")
    if any(len(part) > MAX_LINE for part in folded.split(CRLF)):
        raise HeaderError(f"the {name} header is longer than {MAX_LINE} characters")
    return folded + CRLF


def qp(text: str) -> bytes:
    """Quoted-printable of a text part: CRLF line ends, lines of at most 76 characters."""
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)


def qp_piece(text: str) -> bytes:
    """A piece of a quoted-printable body that ends its own last line (with a soft break if needed).

    Pieces encoded this way can be concatenated in any order and every line stays within
    76 characters, so the fixed parts of a message are encoded once and only the
    per-recipient values are encoded per copy.
    """
    if not text:
        return b""
    data = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return data if data.endswith(b"\r\n") else data + b"=\r\n"


class EncodedTemplate:
    """A text split at placeholders (literal, name, literal, …), its literals encoded once."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        pieces = [qp_piece(p.replace("\r\n", "\n").replace("\n", "\r\n")) if i % 2 == 0 else b""
                  for i, p in enumerate(parts)]
        self.pieces = pieces
        self.slots = tuple((i, parts[i]) for i in range(1, len(parts), 2))
        self.names = tuple(sorted({name for _, name in self.slots}))

    def fill(self, context: Mapping[str, str], escape: Callable[[str], str] | None = None) -> bytes:
        values = {}
        for name in self.names:
            value = str(context.get(name, ""))
            values[name] = qp_piece(escape(value) if escape else value)
        out = self.pieces.copy()
        for i, name in self.slots:
            out[i] = values[name]
        return b"".join(out)


_PART_HEAD = (b"Content-Type: text/%s; charset=\"utf-8\"\r\n"
              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")


def alternative(boundary: str, text: bytes, html: bytes) -> bytes:
    """The multipart/alternative body from two quoted-printable parts; "=_" cannot occur in QP."""
    b = boundary.encode("ascii")
    return b"".join((
        b"--", b, b"\r\n", _PART_HEAD % b"plain", text, b"\r\n--", b, b"\r\n",
        _PART_HEAD % b"html", html, b"\r\n--", b, b"--\r\n",
    ))


def content_type_alternative(boundary: str) -> str:
    return f'multipart/alternative; boundary="{boundary}"'
