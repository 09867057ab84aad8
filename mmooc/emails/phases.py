"""Emails tied to a phase of the run, and when that phase is over for each learner.

An email for before the start ("the course starts in 3 days") is over for a learner once
course day 0 has begun in their zone; the grouping check ("do you still want a study
group?") is over then too, or as soon as the cohort's study groups were formed. A copy
whose send time falls after its phase is not queued: scheduled late, such an email would
tell everybody something that is no longer true.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Min, Q
from django.utils import timezone

from mmooc.emails.models import CourseEmail
from mmooc.lib import clock
from mmooc.lib.counts import counted
from mmooc.mailer.models import Delivery

WHAT = {CourseEmail.PHASE_BEFORE_START: "for before the start",
        CourseEmail.PHASE_GROUPING: "the grouping check, for before the study groups are formed"}


class PhaseClock:
    """When an email's phase ends, per learner time zone (None: the email has no phase)."""

    def __init__(self, email: CourseEmail):
        self.phase, self.cohort = email.phase, email.cohort
        self.formed: datetime | None = None
        if self.phase == CourseEmail.PHASE_GROUPING:
            from mmooc.groups.models import StudyGroup

            self.formed = StudyGroup.objects.filter(cohort=self.cohort).aggregate(at=Min("created_at"))["at"]
        self.ends: dict[str | None, datetime | None] = {}

    def end(self, zone: str | None) -> datetime | None:
        if not self.phase:
            return None
        if zone not in self.ends:
            start = clock.day_begins(self.cohort.start_date, zone or self.cohort.timezone)
            self.ends[zone] = min(start, self.formed) if self.formed else start
        return self.ends[zone]

    def over(self, zone: str | None, when: datetime) -> bool:
        """Whether a copy sent at `when` to a learner in `zone` would arrive after the phase."""
        end = self.end(zone)
        return end is not None and when >= end


# Time zones run from UTC+14 to UTC-12: a date begins in the first and ends in the last.
EARLIEST_ZONE, LATEST_ZONE = "Pacific/Kiritimati", "Etc/GMT+12"


def end_phases(now: datetime | None = None) -> int:
    """Cancel the copies still waiting of phase emails whose phase is over for their learner
    (copies held by a pause, a retry or a busy engine past the end); returns how many.
    A periodic job: a copy is at most one turn late to be stopped."""
    now = now or timezone.now()
    emails = (CourseEmail.objects.exclude(phase="").filter(trigger="", message__isnull=False,
                                                              state__in=(CourseEmail.SCHEDULED, CourseEmail.SENDING))
              .select_related("cohort", "message"))
    return sum(_end_phase(email, now) for email in emails)


def _end_phase(email: CourseEmail, now: datetime) -> int:
    phase = PhaseClock(email)
    earliest, latest = phase.end(EARLIEST_ZONE), phase.end(LATEST_ZONE)
    if earliest is None or latest is None or now < earliest:
        return 0
    # Every language's copies: the email's own message and its variants'.
    waiting = Delivery.objects.filter(Q(message=email.message) | Q(message__course_email_variant__email=email),
                                      status__in=(Delivery.QUEUED, Delivery.DEFERRED))
    if now < latest:  # over in some zones only: the learners' zones decide
        zones = dict(email.cohort.learners.values_list("public_id", "timezone"))
        over = [ref for ref in waiting.values_list("ref", flat=True).distinct()
                if phase.over(_zone(zones, ref), now)]
        waiting = waiting.filter(ref__in=over)
    return waiting.update(status=Delivery.CANCELLED, updated_at=timezone.now())


def _zone(zones: dict, ref: str) -> str | None:
    try:
        return zones.get(uuid.UUID(ref))
    except ValueError:
        return None


def note(email: CourseEmail, skipped: int, copies: int, now: datetime) -> str:
    """What the page and the command line say about copies left out because the phase is over."""
    if not email.phase or not skipped:
        return ""
    what = WHAT.get(email.phase, "tied to a phase of the run")
    if copies:
        return (f"This email is {what}: {counted(skipped, 'copy', 'copies')} due after that in the "
                "learners' zones will not be sent.")
    return f"This email is {what}; {_why_over(email, now)}: it will not be sent."


def _why_over(email: CourseEmail, now: datetime) -> str:
    cohort: Any = email.cohort
    formed = PhaseClock(email).formed
    if formed is not None and formed <= clock.day_begins(cohort.start_date, cohort.timezone):
        return f"the study groups were formed on {clock.day(formed)}"
    days = (clock.today(cohort.timezone, now) - cohort.start_date).days
    if days <= 0:
        return "the cohort starts before it would arrive"
    if days == 1:
        return "the cohort started yesterday"
    return f"the cohort started {days} days ago"
