"""Signed links that act on a learner's behalf: confirm, learner page, unsubscribe.

A token holds the learner's public id (never the address), a timestamp and a signature
with a salt per purpose, in URL-safe characters only (base64url, digits and dots), so it
sits inside `<…>` in a List-Unsubscribe header untouched. A changed character, a token
for another purpose, or an expired one gives 404 and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.urls import reverse

from mmooc.learners.models import Learner

CONFIRM, PAGE, UNSUBSCRIBE, WAITLIST = "confirm", "page", "unsubscribe", "waitlist"
# How long each kind of link works. Unsubscribe links in old emails must keep working.
MAX_AGE = {
    CONFIRM: timedelta(days=getattr(settings, "LEARNER_CONFIRM_DAYS", 7)),
    WAITLIST: timedelta(days=getattr(settings, "LEARNER_CONFIRM_DAYS", 7)),
    PAGE: timedelta(days=400),
    UNSUBSCRIBE: None,
}
SCOPES = {"c": "cohort", "g": "group"}
SEP = "."
INVALID = "This link is not valid or has expired."


class InvalidLink(Http404):
    """A tampered, foreign, expired or erased learner's link."""


def _signer(purpose: str) -> signing.TimestampSigner:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown link purpose {purpose!r}")
    return signing.TimestampSigner(salt=f"mmooc.learners.{purpose}", sep=SEP)


def make_token(value: str, purpose: str) -> str:
    return _signer(purpose).sign(value)


def read_token(token: str, purpose: str) -> str:
    """The signed value, or InvalidLink (an Http404) for a tampered, foreign or expired token."""
    max_age = MAX_AGE[purpose]
    try:
        return _signer(purpose).unsign(token, max_age=max_age)
    except (signing.BadSignature, ValueError):
        raise InvalidLink(INVALID) from None


def _absolute(path: str) -> str:
    return settings.BASE_URL + path


_MARK = "TOKEN-MARK"


@lru_cache(maxsize=64)
def _url_pattern(view: str, base_url: str) -> str:
    # reverse() costs more than signing; course mail builds links for 100,000 learners.
    return base_url + reverse(view, args=[_MARK])


def _link(view: str, token: str) -> str:
    return _url_pattern(view, settings.BASE_URL).replace(_MARK, token)


def learner_token(learner: Learner, purpose: str, scope: str = "") -> str:
    value = learner.public_id.hex
    if purpose == UNSUBSCRIBE:
        value = {"cohort": "c", "group": "g"}[scope] + value
    return make_token(value, purpose)


def confirm_url(learner: Learner) -> str:
    return _link("learners:confirm", learner_token(learner, CONFIRM))


def learner_page_url(learner: Learner) -> str:
    return _link("learners:page", learner_token(learner, PAGE))


def unsubscribe_url(learner: Learner, scope: str = "cohort") -> str:
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
    page_signer, unsubscribe_signer = _signer(PAGE), _signer(UNSUBSCRIBE)
    return {
        "learner.first_name": name.split()[0] if name.strip() else "",
        "learner.name": name,
        "learner.page_url": _link("learners:page", page_signer.sign(public_id.hex)),
        "unsubscribe_url": _link("learners:unsubscribe",
                                 unsubscribe_signer.sign({"cohort": "c", "group": "g"}[scope] + public_id.hex)),
    }
