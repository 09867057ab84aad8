"""The weeks a late joiner missed, sent as one catch-up email when they ask on their page.

    missed(learner)          the weekly emails sent before they joined that they did not get
    sent_at(learner)         when their catch-up email was sent (None: not yet)
    send_catch_up(learner)   queue it, once per learner; refuses (CatchUpRefused) otherwise

The email lists each missed week's email with a link to it in the archive, in the learner's
language, and the week's material. It goes through the outbox like any other email and is
recorded in the learner's history (learners.lifecycle).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mmooc.courses.models import Cohort
from mmooc.emails import audience as audiences
from mmooc.emails import links, scheduling
from mmooc.emails.models import CourseEmail
from mmooc.learners import lifecycle
from mmooc.learners.models import Learner, LearnerEvent
from mmooc.lib import clock
from mmooc.lib.languages import content_language, speaking
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message

TAG = "catch-up"
# Copies that reached the learner, or still will.
RECEIVED = (Delivery.SENT, Delivery.QUEUED, Delivery.SENDING, Delivery.DEFERRED)


class CatchUpRefused(Exception):
    """Nothing is sent; the message is meant for the learner."""


def missed(learner: Learner) -> list[CourseEmail]:
    """The weekly emails (one per module, the first sent about it) already sent to the cohort
    that the learner is meant to read but never got, in the order of the weeks."""
    from mmooc.emails.public_views import sent_emails

    if learner.state != Learner.CONFIRMED or learner.cohort.state == Cohort.DRAFT:
        return []
    emails: dict[int, CourseEmail] = {}
    for email in sent_emails(learner.cohort).filter(module__isnull=False).order_by("first_sent", "pk"):
        emails.setdefault(email.module_id, email)
    if not emails:
        return []
    got = set(Delivery.objects.filter(ref=str(learner.public_id), status__in=RECEIVED,
                                      message__scope=learner.cohort.scope, message__tag=scheduling.TAG)
              .values_list("message_id", flat=True))
    found = []
    for email in sorted(emails.values(), key=lambda e: (e.module.position if e.module else 0, e.pk)):
        if got & {m.pk for m in scheduling.messages_of(email)}:
            continue
        if email.audience and not audiences.recipients(email).filter(pk=learner.pk).exists():
            continue
        found.append(email)
    return found


def sent_at(learner: Learner) -> datetime | None:
    event = LearnerEvent.objects.filter(learner_id=learner.pk, kind=LearnerEvent.CATCH_UP).order_by("pk").first()
    return event.created_at if event else None


def refusal_if_sent(learner: Learner, when: datetime) -> str:
    with speaking(learner.language):
        return _("We sent you the weeks you missed on %(date)s: look for it in your inbox.") % {
            "date": clock.day(clock.in_zone(when, learner.timezone))}


def send_catch_up(learner: Learner, now: datetime | None = None) -> Delivery:
    """Queue the learner's catch-up email and record it; once per learner."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Learner.objects.select_for_update().select_related("cohort__course").get(pk=learner.pk)
        when = sent_at(locked)
        if when is not None:
            raise CatchUpRefused(refusal_if_sent(locked, when))
        emails = missed(locked)
        if not emails:
            with speaking(locked.language):
                raise CatchUpRefused(_("There are no earlier weeks' emails that you missed."))
        message = _message(locked, emails)
        context = {k: v for k, v in scheduling.Personalizer(emails[0], now, with_groups=False)
                   .context(locked).items() if k in ("learner.first_name", "learner.page_url")}
        outbox.enqueue(message, [outbox.Recipient(locked.email, context, ref=str(locked.public_id))])
        lifecycle.record(locked, LearnerEvent.CATCH_UP, lifecycle.PAGE, note=f"{len(emails)} weeks", at=now)
    return Delivery.objects.get(message=message, ref=str(locked.public_id))


def _message(learner: Learner, emails: list[CourseEmail]) -> Message:
    """One message per language and set of missed weeks: learners who missed the same weeks share it."""
    cohort = learner.cohort
    with speaking(learner.language):
        subject = _("The weeks of %(course)s you missed") % {"course": cohort.course.title}
        body = catch_up_body(learner, emails)
        existing = (Message.objects.filter(scope=cohort.scope, tag=TAG, subject=subject, body=body,
                                           state=Message.ACTIVE).order_by("pk").first())
        return existing or outbox.compose(kind=Message.TRANSACTIONAL, subject=subject, body=body,
                                          scope=cohort.scope, tag=TAG, footer=scheduling.footer(cohort.course),
                                          headers=content_language())


def catch_up_body(learner: Learner, emails: list[CourseEmail]) -> str:
    """Markdown in the active language: each missed week's email (a link to it in the archive,
    in the learner's language when it has a variant in it), its goals and material."""
    language = scheduling.variant_language(learner.language or "")
    parts = [_("Hi {{ learner.first_name }},"),
             _("You joined %(course)s after it started, so these emails went out before you arrived. Here they "
               "are in one place; take them at your own pace.") % {"course": _md(learner.cohort.course.title)}]
    for email in emails:
        module: Any = email.module
        variant = scheduling.variant_for(email, language) if language else None
        url = links.view_url(email) + (f"?lang={variant.language}" if variant is not None else "")
        subject = scheduling.render_email(scheduling.as_variant(email, variant))[0]
        lines = [f"## {_md(module.title)}", "",
                 _("Sent on %(date)s: [%(subject)s](%(url)s)") % {
                     "date": clock.day(module.release_date(learner.cohort)), "subject": _md(_shown(subject)),
                     "url": url}]
        resources = list(module.resources.all())
        if resources:
            lines += ["", _("This week's material:"), ""]
            lines += [f"- [{_md(r.title)}]({r.url})" for r in resources]
        parts.append("\n".join(lines))
    parts.append(_("Your [personal page]({{ learner.page_url }}) has the whole schedule and your study group."))
    return "\n\n".join(parts) + "\n"


def _shown(subject: str) -> str:
    """A subject with its learner placeholders made neutral (the link leads to the public copy)."""
    from mmooc.emails.public_views import NEUTRAL

    return scheduling.templating.personalize(subject, NEUTRAL)


def _md(text: str) -> str:
    """A title inside Markdown: characters that Markdown or placeholders use, escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+!|~" else c for c in text)


def page_section(learner: Learner) -> dict[str, Any] | None:
    """The learner page's catch-up card: shown once earlier weeks' emails were missed (a button),
    or after the catch-up was sent (when)."""
    if learner.state != Learner.CONFIRMED:
        return None
    when = sent_at(learner)
    if when is not None:
        return {"template": "emails/_catch_up_section.html", "sent": clock.in_zone(when, learner.timezone).date()}
    emails = missed(learner)
    if not emails:
        return None
    return {"template": "emails/_catch_up_section.html", "weeks": [e.module for e in emails],
            "count": len(emails)}

