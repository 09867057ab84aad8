"""The learners' own transactional mail: confirmation, "your link", waitlist confirmation.

Everything goes through the mail engine's outbox, in the caller's transaction, so a
signup and its confirmation email are committed together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mmooc.learners import links
from mmooc.learners.models import Learner, WaitlistEntry

CONFIRM_SUBJECT = "Please confirm your place in {{ course_title }}"
CONFIRM_BODY = """Hello{{ greeting }},

Someone (we hope you) signed up for **{{ course_title }}** with this address.
To confirm your place, open this link within {{ days }} days:

[Confirm my place]({{ confirm_url }})

If it was not you, ignore this message: without confirmation we forget the address.
"""

LINK_SUBJECT = "Your personal page for {{ course_title }}"
LINK_BODY = """Hello{{ greeting }},

Here is your personal page for **{{ course_title }}**: your schedule, your group and your preferences.

[Open my page]({{ page_url }})

Keep this link to yourself: anyone who has it can change your preferences.
"""

WAITLIST_SUBJECT = "Please confirm: tell me when {{ course_title }} opens"
WAITLIST_BODY = """Hello,

Someone (we hope you) asked to be told when the next run of **{{ course_title }}** opens.
To confirm, open this link within {{ days }} days:

[Yes, tell me]({{ confirm_url }})

If it was not you, ignore this message.
"""


def _send(*, to: str, subject: str, body: str, context: dict[str, str], scope: str, tag: str,
          ref: str) -> Any:
    """One message for one recipient, in the caller's transaction."""
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    with transaction.atomic(savepoint=False):
        message = outbox.compose(kind=Message.TRANSACTIONAL, subject=subject, body=body, scope=scope, tag=tag)
        outbox.enqueue(message, [outbox.Recipient(to, context, ref=ref)])
    return message


def _shared_confirmation(cohort_id: int) -> Any:
    """The cohort's confirmation message: written once, one delivery per signup.

    Every signup's copy differs only by its placeholders, so the engine renders the
    message once for the whole cohort instead of once per signup.
    """
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    scope = f"cohort:{cohort_id}"
    cached = _SHARED.get(cohort_id)
    if cached is not None and _usable(cached.pk, scope):
        return cached
    # Found by the message_scope_tag index; one of two racing first signups may make a second.
    _SHARED[cohort_id] = message = (Message.objects.filter(scope=scope, tag="confirmation", kind=Message.TRANSACTIONAL,
                                   subject=CONFIRM_SUBJECT, body=CONFIRM_BODY, state=Message.ACTIVE)
            .order_by("pk").first()
            or outbox.compose(kind=Message.TRANSACTIONAL, subject=CONFIRM_SUBJECT, body=CONFIRM_BODY,
                              scope=scope, tag="confirmation"))
    return message


# The shared confirmation message of each cohort this process has seen, by cohort id.
_SHARED: dict[int, Any] = {}


def _usable(pk: int, scope: str) -> bool:
    """The remembered message still exists, is still this cohort's, and is not paused or cancelled."""
    from mmooc.mailer.models import Message

    sql = f"SELECT 1 FROM {Message._meta.db_table} WHERE id = %s AND scope = %s AND tag = %s AND state = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk, scope, "confirmation", Message.ACTIVE])
        return cursor.fetchone() is not None


def _greeting(learner: Learner) -> str:
    return f" {learner.first_name}" if learner.first_name else ""


@dataclass(frozen=True)
class Confirmation:
    """A new learner's confirmation copy, worked out before the signup's transaction."""

    address: str
    context: dict[str, str]
    ref: str


def _confirmation_context(learner: Learner) -> dict[str, str]:
    return {"greeting": _greeting(learner), "confirm_url": links.confirm_url(learner),
            "course_title": learner.cohort.course.title, "days": str(links.MAX_AGE[links.CONFIRM].days)}


def prepare_confirmation(learner: Learner) -> Confirmation:
    return Confirmation(learner.email, _confirmation_context(learner), str(learner.public_id))


def send_confirmation(learner: Learner, prepared: Confirmation | None = None) -> Any:
    """Queue the confirmation email; a second one to the same address gets its own message."""
    from mmooc.mailer import outbox

    if prepared is not None and _enqueue_shared(learner.cohort_id, prepared):
        return _SHARED[learner.cohort_id]
    context = prepared.context if prepared is not None else _confirmation_context(learner)
    ref = str(learner.public_id)
    message = _shared_confirmation(learner.cohort_id)
    if outbox.enqueue(message, [outbox.Recipient(learner.email, context, ref=ref)]):
        return message
    return _send(to=learner.email, subject=CONFIRM_SUBJECT, body=CONFIRM_BODY, context=context,
                 scope=f"cohort:{learner.cohort_id}", tag="confirmation", ref=ref)


def _enqueue_shared(cohort_id: int, prepared: Confirmation) -> bool:
    """The common case in one statement: one delivery on the cohort's remembered shared
    message, written only if that message is still usable (what `_usable` checks) and the
    address is not on it yet. False sends the caller the long way, which decides again."""
    from mmooc.mailer import engine, outbox
    from mmooc.mailer.models import Delivery, Message

    message = _SHARED.get(cohort_id)
    if message is None or any("\n" in v or "\r" in v for v in prepared.context.values()):
        return False
    try:
        address = outbox.normalize_address(prepared.address)
    except outbox.OutboxError:
        return False
    now = timezone.now()
    if connection.vendor != "postgresql":
        now = connection.ops.adapt_datetimefield_value(now)
    context = Delivery._meta.get_field("context").get_db_prep_save(prepared.context, connection)
    domain = _DOMAINS.get(message.from_email) or _DOMAINS.setdefault(message.from_email,
                                                                     outbox.message_id_domain(message))
    mid = f"<{uuid.uuid4().hex}.0@{domain}>"
    with connection.cursor() as cursor:
        cursor.execute(_DELIVERY_SQL, [address, context, prepared.ref[:64], now, mid, now,
                                       message.pk, f"cohort:{cohort_id}", Message.ACTIVE])
        added = cursor.rowcount == 1
    if added:
        transaction.on_commit(engine.wake)
    return added


# Message-ID domains by sender address: worked out once, not once per signup.
_DOMAINS: dict[str, str] = {}

# INSERT … SELECT needs a WHERE before ON CONFLICT on SQLite; it has one.
_DELIVERY_SQL = (
    "INSERT INTO mailer_delivery (message_id, recipient, context, ref, status, not_before, attempts, "
    "rfc_message_id, provider_id, last_error, updated_at) "
    "SELECT id, %s, %s, %s, 'queued', %s, 0, %s, '', '', %s FROM mailer_message "
    "WHERE id = %s AND scope = %s AND tag = 'confirmation' AND state = %s "
    "ON CONFLICT (message_id, recipient) DO NOTHING")


def send_page_link(learner: Learner) -> Any:
    course = learner.cohort.course
    return _send(
        to=learner.email,
        subject=LINK_SUBJECT, body=LINK_BODY,
        context={"greeting": _greeting(learner), "page_url": links.learner_page_url(learner),
                 "course_title": course.title},
        scope=f"cohort:{learner.cohort_id}", tag="magic-link", ref=str(learner.public_id),
    )


def send_waitlist_confirmation(entry: WaitlistEntry) -> Any:
    from django.urls import reverse

    token = links.make_token(entry.public_id.hex, links.WAITLIST)
    url = settings.BASE_URL + reverse("learners:waitlist_confirm", args=[token])
    return _send(
        to=entry.email,
        subject=WAITLIST_SUBJECT, body=WAITLIST_BODY,
        context={"confirm_url": url, "course_title": entry.course.title,
                 "days": str(links.MAX_AGE[links.WAITLIST].days)},
        scope=f"course:{entry.course_id}", tag="waitlist", ref=str(entry.public_id),
    )


def queue_confirmations(learners: list[Learner]) -> int:
    """One confirmation message for many learners (an import), each with their own link."""
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    if not learners:
        return 0
    cohort = learners[0].cohort
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject=CONFIRM_SUBJECT, body=CONFIRM_BODY,
                             scope=f"cohort:{cohort.id}", tag="confirmation")
    days = str(links.MAX_AGE[links.CONFIRM].days)
    recipients = (
        outbox.Recipient(learner.email, {"greeting": _greeting(learner), "confirm_url": links.confirm_url(learner),
                                         "course_title": cohort.course.title, "days": days},
                         ref=str(learner.public_id))
        for learner in learners)
    return outbox.enqueue(message, recipients)
