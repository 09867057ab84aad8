"""Signed links that act on a learner's behalf: confirm, learner page, unsubscribe.

A token holds the learner's public id (never the address), a timestamp and a signature
with a salt per purpose, in URL-safe characters only (base64url, digits and dots), so it
sits inside `<…>` in a List-Unsubscribe header untouched. A changed character, a token
for another purpose, or an expired one gives 404 and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

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


def learner_token(learner: Learner, purpose: str, scope: str = "") -> str:
    value = learner.public_id.hex
    if purpose == UNSUBSCRIBE:
        value = {"cohort": "c", "group": "g"}[scope] + value
    return make_token(value, purpose)


def confirm_url(learner: Learner) -> str:
    return _absolute(reverse("learners:confirm", args=[learner_token(learner, CONFIRM)]))


def learner_page_url(learner: Learner) -> str:
    return _absolute(reverse("learners:page", args=[learner_token(learner, PAGE)]))


def unsubscribe_url(learner: Learner, scope: str = "cohort") -> str:
    if scope not in ("cohort", "group"):
        raise ValueError(f"unsubscribe scope must be 'cohort' or 'group', not {scope!r}")
    return _absolute(reverse("learners:unsubscribe", args=[learner_token(learner, UNSUBSCRIBE, scope)]))


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


def learner_context(learner: Learner) -> dict[str, str]:
    """Per-recipient values for course and group mail placeholders."""
    return {
        "learner.first_name": learner.first_name,
        "learner.name": learner.name,
        "learner.page_url": learner_page_url(learner),
        "unsubscribe_url": unsubscribe_url(learner, "cohort"),
    }
