""""Do you still want a study group?": the email with one-click yes/no links, and the answers.

Each link carries a signed token holding the learner's public id (never the address). A GET
only shows a button; the answer is recorded by the POST it sends, so mail scanners that
fetch links change nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.groups import membership, welcome
from mmooc.groups.models import GroupCheck, Membership
from mmooc.learners import lifecycle, links
from mmooc.learners.models import Learner
from mmooc.lib import clock
from mmooc.lib.languages import content_language, ui_language
from mmooc.mailer import outbox
from mmooc.mailer.models import Message

SALT = "mmooc.groups.check"
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


def send_group_check(cohort: Cohort, actor: Any = None) -> GroupCheck:
    """One message with a personal yes and no link for each learner asked."""
    contexts = welcome.Contexts()
    with transaction.atomic():
        check = GroupCheck.objects.create(cohort=cohort, sent_by=actor if getattr(actor, "is_authenticated", False)
                                          else None)
        languages = asked(cohort).values_list("language", flat=True).distinct()
        by_translation: dict[str, list[str]] = {}
        for code in languages:
            by_translation.setdefault(ui_language(code), []).append(code)
        check.learner_count = 0
        for language, codes in sorted(by_translation.items()):
            message = _message(cohort, language)
            check.learner_count += outbox.enqueue(message, (
                outbox.Recipient(learner.email, _context(contexts, learner), ref=str(learner.public_id))
                for learner in asked(cohort).filter(language__in=codes).only("id", "email", "name", "public_id")
                .iterator(chunk_size=2000)))
        check.save(update_fields=["learner_count"])
        record(actor, "groups.check_sent", cohort, f"Asked {check.learner_count} learners of {cohort.slug} "
               "whether they still want a group", cohort=cohort.slug, learners=check.learner_count)
    return check


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

