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

from mmooc.checkins.intake import checkin_address, weeks_in
from mmooc.checkins.models import CheckIn, CohortSettings, Summary
from mmooc.checkins.pages import group_week
from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup
from mmooc.learners.models import Learner
from mmooc.lib import clock

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
    text = summary_text(group, seen)
    try:
        with transaction.atomic():
            Summary.objects.create(group=group, week=week, text=text, sent_at=now or timezone.now())
            _queue(group, week, text, seen["rows"])
    except IntegrityError:
        return False  # another process made it first
    return True


def summary_text(group: StudyGroup, seen: dict) -> str:
    """Markdown: the counts, who is stuck on what (a call for help), and how to check in."""
    week, n = seen["week"], seen["members"]
    lines = [f"{seen['done']} of {n} said DONE for week {week}."]
    stuck = seen["stuck_rows"]
    if stuck:
        topics = Counter(r["checkin"].topic.strip().lower() for r in stuck if r["checkin"].topic.strip())
        on = ", ".join(_inline(t) for t, _ in topics.most_common(MAX_TOPICS))
        verb = "is" if len(stuck) == 1 else "are"
        who = ", ".join(_inline(_first_name(r["learner"])) for r in stuck)
        lines.append(f"{len(stuck)} {verb} stuck{' on ' + on if on else ''} ({who}) — can you help? "
                     f"Reply to this email to write to the group.")
    if seen["skipped"]:
        lines.append(f"{seen['skipped']} skipped the week.")
    now = min(week + 1, weeks_in(group.cohort))
    lines.append(f"To check in, write a first line such as “DONE {now}” or “STUCK {now} loops” to "
                 f"{group.address} or to {checkin_address(group.cohort)}. Check-ins are not posted to the group.")
    return "\n\n".join(lines)


def _queue(group: StudyGroup, week: int, text: str, rows: list[dict]) -> None:
    from mmooc.learners.links import context_maker
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    course = group.cohort.course
    message = outbox.compose(
        kind=Message.SUBSCRIBED, subject=f"[{group.name}] Week {week}: how the group is doing", body=text,
        scope=group.cohort.scope, tag="checkin-summary", reply_to=f"{group.name} <{group.address}>",
        list_id=group.list_id, list_name=group.name,
        footer=" · ".join(p for p in (course.organizer_name, course.postal_line) if p))
    make_context = context_maker("group")
    ours = "@" + settings.LIST_DOMAIN.lower()
    learners: list[Learner] = [r["learner"] for r in rows]
    outbox.enqueue(message, [outbox.Recipient(lr.email, make_context(lr.public_id, lr.name), ref=str(lr.public_id))
                             for lr in learners
                             if lr.state == Learner.CONFIRMED and not lr.email_key.endswith(ours)])


def _first_name(learner: Learner) -> str:
    return (learner.name or "").split(" ")[0] or "a member"


def _inline(text: str) -> str:
    """Members' words inside Markdown: markup and placeholder characters escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+!|~" else c for c in text)[:100]

