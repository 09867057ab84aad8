"""The weekly summary of each group's check-ins, posted to the group once a week.

    send_summaries(now=None) -> int     the periodic job `checkins.summary` (hourly)

During week N of a cohort (on the cohort's calendar) each of its groups gets the summary of
week N-1; in the week after the course ends, the summary of its last week. A Summary row per
group and week makes every later run do nothing for it; a week nobody in the group checked in
sends nothing; a cohort whose staff turned summaries off sends nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mmooc.checkins.intake import checkin_address, weeks_in
from mmooc.checkins.models import CheckIn, CohortSettings, Summary
from mmooc.checkins.pages import group_week
from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup
from mmooc.learners.models import Learner
from mmooc.lib import clock
from mmooc.lib.languages import content_language, speaking

MAX_TOPICS = 3


def send_summaries(now: datetime | None = None) -> int:
    """Queue the summaries due; returns how many groups got one."""
    now = now or timezone.now()
    sent = 0
    for cohort in Cohort.objects.published().select_related("course"):
        week = summary_week(cohort, now)
        if week and CohortSettings.for_cohort(cohort).weekly_summary:
            groups = _groups_to_sum_up(cohort, week)
            sent += sum(send_group_summary(group, week, now) for group in groups)
    return sent


def _groups_to_sum_up(cohort: Cohort, week: int) -> list[StudyGroup]:
    """The cohort's groups with a check-in for `week` from a member, not yet summed up."""
    said = CheckIn.objects.filter(cohort=cohort, week=week)
    return list(StudyGroup.objects.filter(cohort=cohort, memberships__left_at__isnull=True,
                                          memberships__learner__in=said.values("learner"))
                .exclude(checkin_summaries__week=week).select_related("cohort__course").distinct().order_by("pk"))


def summary_week(cohort: Cohort, now: datetime) -> int | None:
    """The week whose summary is due now, or None."""
    if now > cohort.end_at() + timedelta(days=7):
        return None
    stage = clock.stage(cohort.start_date, cohort.end_date, cohort.timezone, now)
    if stage.after:
        return weeks_in(cohort)
    return stage.week - 1 if stage.during and stage.week > 1 else None


def send_group_summary(group: StudyGroup, week: int, now: datetime | None = None) -> bool:
    """The summary of `week` for `group`, once; False when done before or nobody checked in."""
    seen = group_week(group, week)
    if not (seen["done"] or seen["stuck"] or seen["skipped"]):
        return False
    with speaking(summary_language(group, seen["rows"])):
        text = summary_text(group, seen)
        try:
            with transaction.atomic():
                Summary.objects.create(group=group, week=week, text=text, sent_at=now or timezone.now())
                _queue(group, week, text, seen["rows"])
        except IntegrityError:
            return False  # another process made it first
    return True


def summary_language(group: StudyGroup, rows: list[dict]) -> str:
    """The group's language, or its members' most common (as the group's welcome is written)."""
    if group.language:
        return group.language
    counts = Counter(r["learner"].language for r in rows if r["learner"].language)
    return counts.most_common(1)[0][0] if counts else ""


def summary_text(group: StudyGroup, seen: dict) -> str:
    """Markdown in the active language: the counts, who is stuck on what (a call for help), how to check in."""
    week, n = seen["week"], seen["members"]
    lines = [_("{done} of {members} said DONE for week {week}.").format(done=seen["done"], members=n, week=week)]
    stuck = seen["stuck_rows"]
    if stuck:
        topics = Counter(r["checkin"].topic.strip().lower() for r in stuck if r["checkin"].topic.strip())
        on = ", ".join(_inline(t) for t, _count in topics.most_common(MAX_TOPICS))
        who = ", ".join(_inline(_first_name(r["learner"])) for r in stuck)
        if on:
            said = ngettext("{count} is stuck on {topics} ({who}) — can you help?",
                            "{count} are stuck on {topics} ({who}) — can you help?", len(stuck))
        else:
            said = ngettext("{count} is stuck ({who}) — can you help?",
                            "{count} are stuck ({who}) — can you help?", len(stuck))
        lines.append(said.format(count=len(stuck), topics=on, who=who) + " "
                     + _("Reply to this email to write to the group."))
    if seen["skipped"]:
        lines.append(ngettext("{count} skipped the week.", "{count} skipped the week.",
                              seen["skipped"]).format(count=seen["skipped"]))
    now = min(week + 1, weeks_in(group.cohort))
    lines.append(_("To check in, write a first line such as “DONE {week}” or “STUCK {week} loops” "
                   "to {address} or to {checkin_address}. Check-ins are not posted to the group.").format(
        week=now, address=group.address, checkin_address=checkin_address(group.cohort)))
    return "\n\n".join(lines)


def _queue(group: StudyGroup, week: int, text: str, rows: list[dict]) -> None:
    from mmooc.learners.links import context_maker
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    course = group.cohort.course
    message = outbox.compose(
        kind=Message.SUBSCRIBED, body=text,
        subject=_("[{group}] Week {week}: how the group is doing").format(group=group.name, week=week),
        scope=group.cohort.scope, tag="checkin-summary", reply_to=f"{group.name} <{group.address}>",
        list_id=group.list_id, list_name=group.name,
        footer=" · ".join(p for p in (course.organizer_name, course.postal_line) if p), headers=content_language())
    make_context = context_maker("group")
    ours = "@" + settings.LIST_DOMAIN.lower()
    learners: list[Learner] = [r["learner"] for r in rows]
    outbox.enqueue(message, [outbox.Recipient(lr.email, make_context(lr.public_id, lr.name), ref=str(lr.public_id))
                             for lr in learners
                             if lr.state == Learner.CONFIRMED and not lr.email_key.endswith(ours)])


def _first_name(learner: Learner) -> str:
    return (learner.name or "").split(" ")[0] or _("a member")


def _inline(text: str) -> str:
    """Members' words inside Markdown: markup and placeholder characters escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+!|~" else c for c in text)[:100]

