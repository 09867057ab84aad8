"""Check-ins arriving by mail: recorded, acknowledged once, never relayed.

The lists app hands over what it has read of a message (its text, its Message-ID, its
sender) from both doors (LMTP and the providers' inbound webhooks), after its own checks:
loops, bounces and automatic replies never get here, so they are never acknowledged.

    from_group_post(group, learner_id, text, message_id) -> Handled | None   # None: relay it
    from_reply(cohort, addresses, text, message_id) -> Handled               # to the cohort's check-in address

A cohort's check-in address is `checkin+<cohort slug>@<MMOOC_LIST_DOMAIN>`: the weekly
course emails name it as their Reply-To.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mmooc.checkins import parsing
from mmooc.checkins.models import CheckIn
from mmooc.checkins.signals import checkin_recorded
from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner, email_key
from mmooc.lib import clock
from mmooc.lib.languages import content_language, speaking
from mmooc.operations import counters, ratelimits

log = logging.getLogger("mmooc.checkins")

PREFIX = "checkin"
MAX_ADDRESS_LENGTH = 254
# Friendly replies (week out of range, not a check-in) per address per day: enough for a few
# tries, never a conversation with a robot.
NOTES_PER_DAY = 3
DAY = 24 * 3600

RECORDED, REPEATED, NOTED, IGNORED = "recorded", "repeated", "noted", "ignored"


class Handled(NamedTuple):
    action: str  # RECORDED, REPEATED (said before), NOTED (answered, nothing recorded) or IGNORED
    text: str  # for the LMTP reply


def checkin_address(cohort: Cohort) -> str:
    return f"{PREFIX}+{cohort.slug}@{settings.LIST_DOMAIN}"


def cohort_for_address(address: str) -> Cohort | None:
    """The cohort whose check-in address this is, whatever its case; None for any other."""
    address = address.strip().strip("<>")
    local, _at, domain = address.rpartition("@")
    prefix, plus, slug = local.partition("+")
    if (len(address) > MAX_ADDRESS_LENGTH or domain.lower() != settings.LIST_DOMAIN or not plus
            or prefix.lower() != PREFIX or not slug or not slug.isascii() or not address.isprintable()):
        return None
    return Cohort.objects.published().select_related("course").filter(slug=slug.lower()).first()


def is_checkin_address(address: str) -> bool:
    """Shaped like a check-in address (without asking the database)."""
    local, _at, domain = address.strip().strip("<>").rpartition("@")
    return domain.lower() == settings.LIST_DOMAIN and local.lower().startswith(PREFIX + "+")


def weeks_in(cohort: Cohort) -> int:
    return (cohort.end_date - cohort.start_date).days // 7 + 1


def looks_like_checkin(text: str) -> bool:
    """Cheap, before any query: could the text be a check-in in some language?"""
    return any(parsing.parse(text, language) for language in parsing.KEYWORDS)


# ---------------------------------------------------------------- the two ways in

def from_group_post(group: StudyGroup, learner_id: int, text: str, message_id: str, *,
                    now: datetime | None = None) -> Handled | None:
    """A member's mail to their group: a check-in is handled here; None lets the relay post it."""
    if not looks_like_checkin(text):
        return None
    learner = Learner.objects.select_related("cohort__course").get(pk=learner_id)
    parsed = parsing.parse(text, learner.language)
    if parsed is None:
        return None
    return _handle(learner, group, parsed, CheckIn.GROUP, message_id, now or timezone.now())


def from_reply(cohort: Cohort, addresses: list[str], text: str, message_id: str, *,
               now: datetime | None = None) -> Handled:
    """Mail to the cohort's check-in address (a reply to a course email)."""
    now = now or timezone.now()
    learner = _learner(cohort, addresses)
    if learner is None:
        counters.add("checkins", label="unknown-sender")
        return Handled(IGNORED, "Accepted, not recorded: the sender is not a learner of this course")
    parsed = parsing.parse(text, learner.language)
    if parsed is None:
        _note(learner, "not-a-checkin", _not_a_checkin(learner), message_id)
        counters.add("checkins", label="not-a-checkin")
        return Handled(NOTED, "Accepted, not recorded: not a check-in")
    group = (Membership.objects.active().filter(learner=learner).select_related("group").first())
    return _handle(learner, group.group if group else None, parsed, CheckIn.REPLY, message_id, now)


def _learner(cohort: Cohort, addresses: list[str]) -> Learner | None:
    keys = [email_key(a) for a in addresses if a and len(a) <= MAX_ADDRESS_LENGTH]
    found = {lr.email_key: lr for lr in Learner.objects.confirmed().select_related("cohort__course")
             .filter(cohort=cohort, email_key__in=keys)}
    return next((found[k] for k in keys if k in found), None)


# ---------------------------------------------------------------- recording

def _handle(learner: Learner, group: StudyGroup | None, parsed: parsing.Parsed, source: str,
            message_id: str, now: datetime) -> Handled:
    cohort = learner.cohort
    stage = clock.stage(cohort.start_date, cohort.end_date, learner.timezone, now)
    week = parsed.week if parsed.week is not None else stage.week
    last = weeks_in(cohort)
    if week < 1 or week > last:
        why = _not_started(learner) if stage.before and parsed.week is None else _out_of_range(learner, week, last)
        _note(learner, "week", why, message_id)
        counters.add("checkins", label="out-of-range")
        return Handled(NOTED, "Accepted, not recorded: no such week")
    checkin, created, changed = record(learner, group, week, parsed.status, parsed.topic, source, message_id, now)
    if created:
        _acknowledge(checkin, message_id)
    if changed:
        transaction.on_commit(lambda: checkin_recorded.send(sender=CheckIn, checkin=checkin))
    counters.add("checkins", label=RECORDED if created else REPEATED)
    return Handled(RECORDED if created else REPEATED, "Check-in recorded" if created else "Check-in already recorded")


def record(learner: Learner, group: StudyGroup | None, week: int, status: str, topic: str, source: str,
           message_id: str, now: datetime) -> tuple[CheckIn, bool, bool]:
    """The learner's word on a week: (check-in, created, changed the learner's current word)."""
    latest = CheckIn.objects.filter(learner=learner, week=week).order_by("-updated_at", "-pk").first()
    changed = latest is None or (latest.status, latest.topic) != (status, topic)
    values = {"cohort_id": learner.cohort_id, "group": group, "topic": topic[:100], "source": source,
              "message_id": message_id[:995], "updated_at": now}
    try:
        with transaction.atomic():
            checkin = CheckIn.objects.create(learner=learner, week=week, status=status, created_at=now, **values)
            return checkin, True, changed
    except IntegrityError:
        pass  # said before (or twice at once): the same row, brought up to date
    checkin = CheckIn.objects.select_for_update().get(learner=learner, week=week, status=status)
    for name, value in values.items():
        setattr(checkin, name, value)
    checkin.save(update_fields=["cohort", "group", "topic", "source", "message_id", "updated_at"])
    return checkin, False, changed


# ---------------------------------------------------------------- replies

def _send(learner: Learner, subject: str, body: str, message_id: str, tag: str) -> None:
    """In the active language (the learner's: see `speaking`)."""
    from mmooc.mailer import outbox

    headers = {"Auto-Submitted": "auto-replied", **content_language()}
    if message_id:
        headers.update({"In-Reply-To": message_id, "References": message_id})
    try:
        outbox.send(to=learner.email, subject=subject, body=body, scope=learner.cohort.scope, tag=tag,
                    headers=headers, ref=str(learner.public_id))
    except outbox.OutboxError as exc:
        log.info("checkins: no reply to learner %s: %s", learner.pk, exc)


def _acknowledge(checkin: CheckIn, message_id: str) -> None:
    from mmooc.learners.links import learner_page_url

    learner = checkin.learner
    week = checkin.week
    with speaking(learner.language):
        if checkin.status == parsing.DONE:
            said = _("week {week} is marked done. Well done!").format(week=week)
        elif checkin.status == parsing.SKIP:
            said = _("week {week} is marked skipped.").format(week=week)
        elif checkin.topic:
            said = _("you are stuck on “{topic}” in week {week}.").format(
                topic=_plain(checkin.topic), week=week)
        else:
            said = _("you are stuck in week {week}.").format(week=week)
        lines = [_("Thanks{name}: {said}").format(name=_comma_name(learner), said=said)]
        if checkin.status == parsing.STUCK and checkin.group is not None:
            lines.append(_("Your group will read about it in its weekly summary. To ask them for help now, "
                           "write your question to {address}.").format(address=checkin.group.address))
        lines.append(_("Your progress week by week is on your page: {url}").format(url=learner_page_url(learner)))
        lines.append(_("This is an automatic reply; saying the same again sends no second one."))
        _send(learner, _("Check-in received: week {week}").format(week=week), "\n\n".join(lines), message_id,
              "checkin-ack")


def _note(learner: Learner, kind: str, body: str, message_id: str) -> None:
    """A friendly answer that records nothing: at most NOTES_PER_DAY a day per address."""
    count, _seconds = ratelimits.hit(f"checkins:note:{learner.email_key}", DAY)
    if count > NOTES_PER_DAY:
        return
    with speaking(learner.language):
        _send(learner, _("Your check-in was not recorded"), body + "\n\n" + _("This is an automatic reply."),
              message_id, f"checkin-{kind}")


def _out_of_range(learner: Learner, week: int, last: int) -> str:
    with speaking(learner.language):
        return _("Hello{name}, {course} has weeks 1 to {last}, so week {week} could not be recorded. Write again "
                 "with the week's number, for example “DONE {example}” as the first line.").format(
            name=_comma_name(learner, lead=" "), course=learner.cohort.course.title, last=last, week=week,
            example=min(max(week, 1), last))


def _not_started(learner: Learner) -> str:
    with speaking(learner.language):
        return _("Hello{name}, {course} starts on {date}: check-ins open then. Nothing was recorded.").format(
            name=_comma_name(learner, lead=" "), course=learner.cohort.course.title,
            date=clock.day(learner.cohort.start_date))


def _not_a_checkin(learner: Learner) -> str:
    contact = learner.cohort.course.organizer_email
    with speaking(learner.language):
        text = _("This address only records check-ins: a first line such as “DONE 3”, "
                 "“STUCK 3 recursion” or “SKIP 3”. Your message was not read by anyone.")
        if contact:
            text += " " + _("To write to the course team, use {address}.").format(address=contact)
        return text


def _comma_name(learner: Learner, lead: str = ", ") -> str:
    first = (learner.name or "").split(" ")[0]
    return f"{lead}{_plain(first)}" if _plain(first) else ""


def _plain(text: str) -> str:
    """Learner-supplied words in a reply: no Markdown, HTML or placeholders, one short line."""
    return "".join(c for c in text if c.isalnum() or c in " .,'’:;/-").strip()[:100]
