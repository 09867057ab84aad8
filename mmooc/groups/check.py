""""Do you still want a study group?": the email with one-click yes/no links, and the answers.

Each link carries a signed token holding the learner's public id (never the address). A GET
only shows a button; the answer is recorded by the POST it sends, so mail scanners that
fetch links change nothing.

Think before sending, as for course emails (emails/confirm.py): asking more than THRESHOLD
learners first asks "Send N copies now?" and needs a signed confirmation of that number; the
copies are then held for the undo window (MMOOC_SEND_UNDO_SECONDS), during which the grouping
page cancels them all. The question is about groups formed before the start: once the cohort
has started it is not sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.groups import membership, welcome
from mmooc.groups.models import GroupCheck, Membership
from mmooc.learners import lifecycle, links
from mmooc.learners.models import Learner
from mmooc.lib import clock, confirmations
from mmooc.lib.languages import content_language, ui_language
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message

SALT = "mmooc.groups.check"
CONFIRM_SALT = "mmooc.groups.check-send"
# More copies than this need a confirmation (as for course emails); one confirmation is for
# the number shown just now.
THRESHOLD = 10
CONFIRM_MAX_AGE = timedelta(minutes=15)
# Answers count until well after a course starts; later links show "not valid or expired".
MAX_AGE = timedelta(days=120)
YES, NO = "yes", "no"

def check_texts() -> tuple[str, str]:
    """The question's subject and body in the active language (str.format fields, then placeholders)."""
    return (_("Do you still want a study group in {course}?"),
            _("""Hello{{{{ greeting }}}},

*{course}* starts on {start}. You asked to study in a small group of people in nearby
time zones, who talk by email. Groups are formed shortly before the start, with the
learners who say yes.

Do you still want a study group?

- [Yes, put me in a group]({{{{ group_check.yes_url }}}})
- [No, I will study on my own]({{{{ group_check.no_url }}}})

If you do not answer, you study on your own; you still get every course email.
"""))


with translation.override(None):
    SUBJECT, BODY = check_texts()


def token(learner: Learner) -> str:
    return signing.TimestampSigner(salt=SALT, sep=".").sign(learner.public_id.hex)


def learner_from_token(value: str) -> Learner:
    """The learner a yes/no link is for; Http404 for tampered, expired, erased or departed ones."""
    try:
        public_hex = signing.TimestampSigner(salt=SALT, sep=".").unsign(value, max_age=MAX_AGE)
        learner = Learner.objects.select_related("cohort__course").filter(public_id=public_hex).first()
    except (signing.BadSignature, ValueError):
        learner = None
    if learner is None or learner.state != Learner.CONFIRMED:
        raise Http404("This link is not valid or has expired.")
    return learner


def answer_url(learner: Learner, answer: str, signed: str | None = None) -> str:
    path = reverse("groups_public:check", args=[signed or token(learner), answer])
    return settings.BASE_URL + path


def asked(cohort: Cohort) -> QuerySet[Learner]:
    """Who the question goes to: confirmed learners who want a group and are in none yet."""
    in_group = Membership.objects.active().filter(learner=OuterRef("pk"))
    return Learner.objects.filter(cohort=cohort).confirmed().wanting_group().filter(~Exists(in_group))


class CheckRefused(Exception):
    """The check cannot be sent (the message says why); nothing was queued."""


def phase_over(cohort: Cohort, now: datetime | None = None) -> bool:
    """Whether the cohort has started: the question is for before the start."""
    return (now or timezone.now()) >= cohort.start_at()


def undo_window() -> timedelta:
    return timedelta(seconds=settings.SEND_UNDO_SECONDS)


def needs_confirmation(count: int) -> bool:
    return count > THRESHOLD


def confirmation(cohort: Cohort, count: int) -> str:
    """The value of the question's confirmation field: for this cohort and this many copies."""
    return confirmations.ask(CONFIRM_SALT, f"{cohort.pk}:{count}")


def confirmed(cohort: Cohort, count: int, value: str | None) -> str | None:
    """None when `value` confirms exactly this; otherwise why the question is asked ("" at first)."""
    return confirmations.answer(CONFIRM_SALT, f"{cohort.pk}:{count}", value, max_age=CONFIRM_MAX_AGE,
                                what="the number below",
                                changed="The number of learners to ask changed since you confirmed: "
                                        "check it below and confirm again.")


def send_group_check(cohort: Cohort, actor: Any = None, *, hold: timedelta | None = None) -> GroupCheck:
    """One message with a personal yes and no link for each learner asked; with `hold`, no copy
    leaves before now + hold (the undo window). Refused once the cohort has started."""
    if phase_over(cohort):
        raise CheckRefused(f"The cohort started on {clock.day(cohort.start_date)}: the question is for "
                           "before the start, so it was not sent.")
    contexts = welcome.Contexts()
    now = timezone.now()
    held_until = now + hold if hold else None
    with transaction.atomic():
        check = GroupCheck.objects.create(cohort=cohort, sent_by=actor if getattr(actor, "is_authenticated", False)
                                          else None, sent_at=now, held_until=held_until)
        languages = asked(cohort).values_list("language", flat=True).distinct()
        by_translation: dict[str, list[str]] = {}
        for code in languages:
            by_translation.setdefault(ui_language(code), []).append(code)
        check.learner_count = 0
        for language, codes in sorted(by_translation.items()):
            message = _message(cohort, language)
            check.messages.add(message)
            check.learner_count += outbox.enqueue(message, (
                outbox.Recipient(learner.email, _context(contexts, learner), ref=str(learner.public_id),
                                 not_before=held_until)
                for learner in asked(cohort).filter(language__in=codes).only("id", "email", "name", "public_id")
                .iterator(chunk_size=2000)))
        check.save(update_fields=["learner_count"])
        record(actor, "groups.check_sent", cohort, f"Asked {check.learner_count} learners of {cohort.slug} "
               "whether they still want a group", cohort=cohort.slug, learners=check.learner_count,
               held_until=held_until.isoformat() if held_until else None)
    return check


def cancellable(check: GroupCheck) -> bool:
    """Whether cancelling would still stop a copy: not cancelled, and a copy not yet sent."""
    return check.cancelled_at is None and Delivery.objects.filter(
        message__in=check.messages.all(), status__in=(Delivery.QUEUED, Delivery.DEFERRED)).exists()


def cancel_check(check: GroupCheck, actor: Any) -> int:
    """Stop every copy of the check not yet sent; returns how many. Audited."""
    with transaction.atomic():
        if GroupCheck.objects.filter(pk=check.pk, cancelled_at__isnull=True).update(cancelled_at=timezone.now()) == 0:
            return 0
        stopped = sum(outbox.cancel(message) for message in check.messages.all())
        record(actor, "groups.check_cancelled", check.cohort, f"Cancelled the group check of {check.cohort.slug}: "
               f"{stopped} copies not sent", cohort=check.cohort.slug, stopped=stopped)
    check.refresh_from_db(fields=["cancelled_at"])
    return stopped


def _message(cohort: Cohort, language: str) -> Message:
    """The question in one language, for the learners who read it."""
    course = cohort.course
    with translation.override(language):
        subject, body = check_texts()
        start = clock.day(cohort.start_date)
        headers = content_language()
    return outbox.compose(
        kind=Message.SUBSCRIBED, subject=subject.format(course=course.title),
        body=body.format(course=welcome.safe_text(course.title), start=start),
        scope=cohort.scope, tag="group-check", footer=welcome.footer(course), headers=headers)


def _context(contexts: welcome.Contexts, learner: Learner) -> dict[str, str]:
    ctx = contexts(learner.public_id, learner.name)
    # A question about the course, not a group's mail: its unsubscribe stops course emails.
    ctx["unsubscribe_url"] = links.unsubscribe_url(learner, "cohort")
    signed = token(learner)
    ctx["group_check.yes_url"] = answer_url(learner, YES, signed)
    ctx["group_check.no_url"] = answer_url(learner, NO, signed)
    return ctx


def record_answer(learner: Learner, answer: str) -> None:
    """Yes keeps the learner among those to group; no takes them out (and out of any group)."""
    wants = answer == YES
    with transaction.atomic():
        Learner.objects.filter(pk=learner.pk).update(group_confirmed=wants)
        learner.group_confirmed = wants
        if not wants:  # on my own, as on the learner's page: recorded, and out of any group
            lifecycle.choose_group(learner, False, force=True, via=lifecycle.GROUP_CHECK)
    if wants and learner.cohort.groups.exists():
        membership.place_late_joiner(learner)


def last_check(cohort: Cohort) -> GroupCheck | None:
    return GroupCheck.objects.filter(cohort=cohort).order_by("-sent_at").first()

