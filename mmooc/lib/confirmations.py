"""A question confirmed by exactly what it asked: "Send N copies now?" and the like.

The form carries `ask(salt, asked)`, a signed, timestamped copy of what the page showed (a
fingerprint of the numbers); `answer` reads it back and says why the question must be asked
again when it no longer matches, has expired or was tampered with.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing


def ask(salt: str, asked: str) -> str:
    """The value of the question's confirmation field."""
    return signing.TimestampSigner(salt=salt).sign(asked)


def answer(salt: str, asked: str, value: str | None, *, max_age: timedelta, what: str, changed: str) -> str | None:
    """None when `value` confirms exactly `asked`; otherwise why the question is asked ("" at first).
    `what` names what to check again ("the numbers below"); `changed` is the answer when what
    was confirmed is no longer what is asked."""
    if not value:
        return ""
    try:
        confirmed = signing.TimestampSigner(salt=salt).unsign(value, max_age=max_age)
    except signing.SignatureExpired:
        return f"The confirmation has expired: check {what} and confirm again."
    except signing.BadSignature:
        return f"The confirmation was not valid: check {what} and confirm again."
    if confirmed != asked:
        return changed
    return None
