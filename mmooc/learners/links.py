"""Signed links that act on a learner's behalf: confirm, learner page, unsubscribe.

A token holds the learner's public id (never the address), a timestamp and a signature
with a salt per purpose, in URL-safe characters only (base64url, digits and dots), so it
sits inside `<…>` in a List-Unsubscribe header untouched. A changed character, a token
for another purpose, or an expired one gives 404 and changes nothing.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.urls import reverse
from django.utils.encoding import force_bytes

from mmooc.learners.models import Learner
from mmooc.lib import mailpaths

CONFIRM, PAGE, UNSUBSCRIBE, WAITLIST = "confirm", "page", "unsubscribe", "waitlist"
# How long each kind of link works. Unsubscribe links in old emails must keep working.
CONFIRM_MAX_AGE = timedelta(days=getattr(settings, "LEARNER_CONFIRM_DAYS", 7))  # signup and waitlist
MAX_AGE: dict[str, timedelta | None] = {
    CONFIRM: CONFIRM_MAX_AGE,
    WAITLIST: CONFIRM_MAX_AGE,
    PAGE: timedelta(days=400),
    UNSUBSCRIBE: None,
}
# A page link older than this may still show the page, but leaving the cohort or deleting
# one's data from it asks for a fresh link by email first: an old email may sit in an inbox
# someone else can read, or be forwarded.
FRESH_FOR = timedelta(days=30)
SCOPES = {"c": "cohort", "g": "group"}
SEP = "."
INVALID = "This link is not valid or has expired."


class Identified(Protocol):
    """What a link is made from: a Learner, or a reference to one read without its row."""

    @property
    def public_id(self) -> uuid.UUID: ...


class InvalidLink(Http404):
    """A tampered, foreign, expired or erased learner's link."""


def _salt(purpose: str) -> str:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown link purpose {purpose!r}")
    return f"mmooc.learners.{purpose}"


def _signer(purpose: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_salt(purpose), sep=SEP)


def make_token(value: str, purpose: str) -> str:
    return _signer(purpose).sign(value)


def read_token(token: str, purpose: str) -> str:
    """The signed value, or InvalidLink (an Http404) for a tampered, foreign or expired token."""
    max_age = MAX_AGE[purpose]
    try:
        return _signer(purpose).unsign(token, max_age=max_age)
    except (signing.BadSignature, ValueError):
        raise InvalidLink(INVALID) from None


def token_age(token: str) -> timedelta:
    """How long ago a (valid) token was signed."""
    stamp = token.rsplit(SEP, 2)[-2]
    return timedelta(seconds=max(0, time.time() - signing.b62_decode(stamp)))


def _absolute(path: str) -> str:
    return settings.BASE_URL + path


_MARK = "TOKEN-MARK"


@lru_cache(maxsize=64)
def _url_pattern(view: str, base_url: str) -> str:
    # reverse() costs more than signing; course mail builds links for 100,000 learners. The
    # paths mail names are written out in mmooc.lib.mailpaths: `mmooc worker` and `mmooc lmtp`
    # need not import the whole URL configuration for them.
    if view in mailpaths.PATHS:
        return base_url + mailpaths.path(view, _MARK)
    return base_url + reverse(view, args=[_MARK])


def _link(view: str, token: str) -> str:
    return _url_pattern(view, settings.BASE_URL).replace(_MARK, token)


def learner_token(learner: Identified, purpose: str, scope: str = "") -> str:
    value = learner.public_id.hex
    if purpose == UNSUBSCRIBE:
        value = {"cohort": "c", "group": "g"}[scope] + value
    return make_token(value, purpose)


def confirm_url(learner: Identified) -> str:
    return _link("learners:confirm", learner_token(learner, CONFIRM))


def learner_page_url(learner: Identified) -> str:
    return _link("learners:page", learner_token(learner, PAGE))


def unsubscribe_url(learner: Identified, scope: str = "cohort") -> str:
    if scope not in ("cohort", "group"):
        raise ValueError(f"unsubscribe scope must be 'cohort' or 'group', not {scope!r}")
    return _link("learners:unsubscribe", learner_token(learner, UNSUBSCRIBE, scope))


def _learner(public_hex: str) -> Learner:
    try:
        public_id = uuid.UUID(hex=public_hex)
    except ValueError:
        raise InvalidLink(INVALID) from None
    learner = Learner.objects.select_related("cohort__course").filter(public_id=public_id).first()
    if learner is None or learner.state == Learner.ERASED:
        raise InvalidLink(INVALID)
    return learner


def learner_from_token(token: str, purpose: str) -> Learner:
    """The learner a link is for; InvalidLink (an Http404) for tampered, expired or erased ones."""
    value = read_token(token, purpose)
    if purpose == UNSUBSCRIBE:
        value = value[1:]
    return _learner(value)


def unsubscribe_target(token: str) -> tuple[Learner, str]:
    """The learner and the scope ("cohort" or "group") an unsubscribe link carries."""
    value = read_token(token, UNSUBSCRIBE)
    scope = SCOPES.get(value[:1])
    if scope is None:
        raise InvalidLink(INVALID)
    return _learner(value[1:]), scope


def learner_context(learner: Learner, scope: str = "cohort") -> dict[str, str]:
    """Per-recipient values for course and group mail placeholders."""
    return context_for(learner.public_id, learner.name, scope)


def context_for(public_id: uuid.UUID, name: str, scope: str = "cohort") -> dict[str, str]:
    """`learner_context` from a learner's public id and name alone (for rows read with values())."""
    return context_maker(scope)(public_id, name)


def context_maker(scope: str = "cohort") -> Callable[[uuid.UUID, str], dict[str, str]]:
    """`context_for` for many learners: keys, timestamp and URLs are worked out once.

    Tokens made by one maker share its creation time, which only matters for links that
    expire, and by seconds. Make one per batch of mail, not one for a long-lived process.
    """
    links = links_maker(scope)

    def make(public_id: uuid.UUID, name: str) -> dict[str, str]:
        return {**name_values(name), **links(public_id.hex)}

    return make


def name_values(name: str) -> dict[str, str]:
    """`context_maker`'s values without the links: for copies whose links are made when sent."""
    return {"learner.first_name": name.split()[0] if name.strip() else "", "learner.name": name}


def links_maker(scope: str = "cohort") -> Callable[[str], dict[str, str]]:
    """The signed links of `context_maker` alone, from a learner's public id in hex: keys and
    URLs worked out once, for many learners (made with one time, like `context_maker`)."""
    flag = {"cohort": "c", "group": "g"}[scope]
    page, unsubscribe = BatchSigner(PAGE), BatchSigner(UNSUBSCRIBE)
    page_url = _url_pattern("learners:page", settings.BASE_URL).split(_MARK)
    unsubscribe_url = _url_pattern("learners:unsubscribe", settings.BASE_URL).split(_MARK)

    def make(public_hex: str) -> dict[str, str]:
        return {"learner.page_url": page.sign(public_hex).join(page_url),
                "unsubscribe_url": unsubscribe.sign(flag + public_hex).join(unsubscribe_url)}

    return make


# The outbox's values made from a copy's ref when it is sent (mmooc.mailer.refvalues): a course
# email's links, from the learner's public id its copies have as their ref.
SENT_LINKS = "learner-links"
LINK_NAMES = frozenset({"learner.page_url", "unsubscribe_url"})
_PUBLIC_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_public_id(ref: str) -> bool:
    """Whether a copy's ref is a learner's public id as the outbox keeps it (str of a UUID)."""
    return _PUBLIC_ID.fullmatch(ref) is not None


def sent_links_maker() -> Callable[[str], dict[str, str]]:
    """A copy's cohort links from its ref, for the copies of one batch the engine sends."""
    make = links_maker("cohort")
    return lambda ref: make(ref.replace("-", ""))


def register_sent_links() -> None:
    from mmooc.mailer import refvalues

    refvalues.register(SENT_LINKS, names=LINK_NAMES, accepts=is_public_id, maker=sent_links_maker)


@lru_cache(maxsize=16)
def _hmac_pads(salt: str, secret: str | bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's inner and outer hashes with the key's pads already fed in (RFC 2104), for
    the key django.utils.crypto.salted_hmac derives on every call (Signer's sha256 default):
    a token is then two copies and two updates, without the hmac module's per-call objects."""
    key = hashlib.sha256(force_bytes(f"{salt}signer") + force_bytes(secret)).digest().ljust(64, b"\0")
    inner, outer = hashlib.sha256(), hashlib.sha256()
    inner.update(bytes(k ^ 0x36 for k in key))
    outer.update(bytes(k ^ 0x5C for k in key))
    return inner, outer


class BatchSigner:
    """Makes exactly the tokens of `_signer(purpose).sign(value)` signed at the moment it was
    created, for many values: the HMAC key is derived once, not once per token.

    Only tokens made with the current SECRET_KEY; reading them is `read_token`'s job.
    """

    def __init__(self, purpose: str) -> None:
        self._inner, self._outer = _hmac_pads(_salt(purpose), settings.SECRET_KEY)
        self._suffix = f"{SEP}{signing.b62_encode(int(time.time()))}"

    def sign(self, value: str) -> str:
        value += self._suffix
        inner = self._inner.copy()
        inner.update(value.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        # base64url without padding, as django.core.signing.b64_encode makes it.
        signature = binascii.b2a_base64(outer.digest(), newline=False).translate(_URL_SAFE).rstrip(b"=")
        return f"{value}{SEP}{signature.decode()}"


_URL_SAFE = bytes.maketrans(b"+/", b"-_")
