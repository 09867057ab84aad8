"""The learners' own transactional mail: confirmation, "your link", waitlist confirmation.

Everything goes through the mail engine's outbox, in the caller's transaction, so a
signup and its confirmation email are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from mmooc.courses.models import Cohort
from mmooc.learners import links
from mmooc.learners.models import Learner, WaitlistEntry
from mmooc.lib import clock
from mmooc.lib.languages import in_default_language, speaking
from mmooc.lib.languages import ui_language as translation_of
from mmooc.mailer import outbox
from mmooc.mailer.models import Message


def confirm_texts() -> tuple[str, str]:
    """The confirmation's subject and body in the active language."""
    return (_("Please confirm your place in {{ course_title }}"),
            _("""Hello{{ greeting }},

Someone (we hope you) signed up for **{{ course_title }}** with this address.
To confirm your place, open this link within {{ days }} days:

[Confirm my place]({{ confirm_url }})

If it was not you, ignore this message: without confirmation we forget the address.
"""))


def link_texts() -> tuple[str, str]:
    return (_("Your personal page for {{ course_title }}"),
            _("""Hello{{ greeting }},

Here is your personal page for **{{ course_title }}**: your schedule, your group and your preferences.

[Open my page]({{ page_url }})

Keep this link to yourself: anyone who has it can change your preferences.
"""))


def waitlist_texts() -> tuple[str, str]:
    return (_("Please confirm: tell me when {{ course_title }} opens"),
            _("""Hello,

Someone (we hope you) asked to be told when the next run of **{{ course_title }}** opens.
To confirm, open this link within {{ days }} days:

[Yes, tell me]({{ confirm_url }})

If it was not you, ignore this message.
"""))


def open_texts() -> tuple[str, str]:
    return (_("{{ course_title }}: signup is open"),
            _("""Hello,

You asked us to tell you when the next run of **{{ course_title }}** opens. It has:
**{{ cohort_title }}** starts on {{ start_date }}, and signup is open until {{ closes }}.

[Sign up]({{ signup_url }})

We write once for each new run; you need not answer this message.
"""))


# The English texts, as the catalogues' message ids (and what tests compare with).
with translation.override(None):
    CONFIRM_SUBJECT, CONFIRM_BODY = confirm_texts()
    LINK_SUBJECT, LINK_BODY = link_texts()
    WAITLIST_SUBJECT, WAITLIST_BODY = waitlist_texts()
    OPEN_SUBJECT, OPEN_BODY = open_texts()


def _send(*, to: str, subject: str, body: str, context: dict[str, str], scope: str, tag: str,
          ref: str) -> Message:
    """One message for one recipient, in the caller's transaction."""
    with transaction.atomic(savepoint=False):
        message = outbox.compose(kind=Message.TRANSACTIONAL, subject=subject, body=body, scope=scope, tag=tag)
        outbox.enqueue(message, [outbox.Recipient(to, context, ref=ref)])
    return message


def _confirmation_message(cohort_id: int, language: str) -> dict[str, str]:
    """The cohort's confirmation in one language: one shared message, one delivery per signup."""
    with speaking(language):
        subject, body = confirm_texts()
    return {"kind": Message.TRANSACTIONAL, "subject": subject, "body": body,
            "scope": Cohort.scope_for(cohort_id), "tag": "confirmation"}


class Invitee(links.Identified, Protocol):
    """What a confirmation email needs of a learner: a Learner, or one just inserted in bulk."""

    @property
    def email(self) -> str: ...

    @property
    def first_name(self) -> str: ...

    @property
    def cohort(self) -> Cohort: ...

    @property
    def language(self) -> str: ...


def _greeting(learner: Invitee) -> str:
    return f" {learner.first_name}" if learner.first_name else ""


@dataclass(frozen=True)
class Confirmation:
    """A new learner's confirmation copy, worked out before the signup's transaction."""

    address: str
    context: dict[str, str]
    ref: str


def _confirmation_context(learner: Learner) -> dict[str, str]:
    return {"greeting": _greeting(learner), "confirm_url": links.confirm_url(learner),
            "course_title": learner.cohort.course.title, "days": str(links.CONFIRM_MAX_AGE.days)}


def prepare_confirmation(learner: Learner) -> Confirmation:
    return Confirmation(learner.email, _confirmation_context(learner), str(learner.public_id))


def send_confirmation(learner: Learner, prepared: Confirmation | None = None) -> Message:
    """Queue the confirmation email; a second one to the same address gets its own message.

    A prepared signup takes the common case in one statement (`outbox.enqueue_one` on the
    cohort's remembered shared message); anything else goes the long way, which decides again.
    """
    context = prepared.context if prepared is not None else _confirmation_context(learner)
    recipient = outbox.Recipient(learner.email, context, ref=str(learner.public_id))
    values = _confirmation_message(learner.cohort_id, learner.language)
    message = outbox.remembered(**values) if prepared is not None else None
    if message is not None and outbox.enqueue_one(message, recipient):
        return message
    message = outbox.shared(**values)
    if outbox.enqueue(message, [recipient]):
        return message
    return _send(to=learner.email, subject=values["subject"], body=values["body"], context=context,
                 scope=values["scope"], tag="confirmation", ref=recipient.ref)


def send_page_link(learner: Learner) -> Message:
    course = learner.cohort.course
    with speaking(learner.language):
        subject, body = link_texts()
    return _send(
        to=learner.email,
        subject=subject, body=body,
        context={"greeting": _greeting(learner), "page_url": links.learner_page_url(learner),
                 "course_title": course.title},
        scope=Cohort.scope_for(learner.cohort_id), tag="magic-link", ref=str(learner.public_id),
    )


def send_waitlist_confirmation(entry: WaitlistEntry) -> Message:
    """In the active language: the visitor's, from the page they asked on."""
    from django.urls import reverse

    subject, body = waitlist_texts()
    token = links.make_token(entry.public_id.hex, links.WAITLIST)
    url = settings.BASE_URL + reverse("learners:waitlist_confirm", args=[token])
    return _send(
        to=entry.email,
        subject=subject, body=body,
        context={"confirm_url": url, "course_title": entry.course.title,
                 "days": str(links.CONFIRM_MAX_AGE.days)},
        scope=f"course:{entry.course_id}", tag="waitlist", ref=str(entry.public_id),
    )


def queue_confirmations(learners: Sequence[Invitee]) -> int:
    """One confirmation message per language for many learners (an import), each with their own link."""
    if not learners:
        return 0
    cohort = learners[0].cohort
    days = str(links.CONFIRM_MAX_AGE.days)
    by_language: dict[str, list[Invitee]] = {}
    for learner in learners:
        by_language.setdefault(translation_of(learner.language), []).append(learner)
    added = 0
    for language, some in by_language.items():
        with translation.override(language):
            subject, body = confirm_texts()
        message = outbox.compose(kind=Message.TRANSACTIONAL, subject=subject, body=body,
                                 scope=cohort.scope, tag="confirmation")
        recipients = (
            outbox.Recipient(learner.email, {"greeting": _greeting(learner),
                                             "confirm_url": links.confirm_url(learner),
                                             "course_title": cohort.course.title, "days": days},
                             ref=str(learner.public_id))
            for learner in some)
        added += outbox.enqueue(message, recipients)
    return added


@in_default_language
def queue_waitlist_notices(cohort: Cohort, entries: Sequence[WaitlistEntry]) -> int:
    """One "signup is open" message for the cohort, a copy to each waitlist entry."""
    from django.urls import reverse

    if not entries:
        return 0
    course = cohort.course
    url = settings.BASE_URL + reverse("learners:cohort", args=[course.slug, cohort.slug])
    subject, body = open_texts()
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject=subject, body=body,
                             scope=f"course:{course.pk}", tag="waitlist-open")
    context = {"course_title": course.title, "cohort_title": cohort.title or cohort.slug,
               "start_date": clock.day(cohort.start_date),
               "closes": clock.day(cohort.signup_closes), "signup_url": url}
    return outbox.enqueue(message, [outbox.Recipient(e.email, context, ref=str(e.public_id)) for e in entries])
