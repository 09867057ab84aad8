"""Think before sending: what scheduling an email would do now, and the confirmation it needs.

Scheduling that would send more than `THRESHOLD` copies at once (a "now" email, or a time
already past for some learners, or within the next `SOON`) first asks "Send N copies
now?", with the first and last copy's time. The answer is a signed token over what was
asked (the email's content, audience, schedule and the counts): a token for other numbers
(the audience changed meanwhile), a tampered or an expired one asks again.

    view = outlook(email)
    if view.needs_confirmation:
        reason = check(email, view, posted_token)   # None: confirmed
        ... token(email, view) goes into the question's form
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from mmooc.emails import audience as audiences
from mmooc.emails import phases, scheduling
from mmooc.emails.models import CourseEmail
from mmooc.lib import confirmations

# More copies than this leaving at once need a confirmation: a handful of test addresses do not.
THRESHOLD = 10
# Copies due within this time count as "now".
SOON = timedelta(minutes=10)
SALT = "mmooc.emails.confirm-send"
# A confirmation is for the numbers shown just now, not for a page left open all afternoon.
MAX_AGE = timedelta(minutes=15)


@dataclass(frozen=True)
class Outlook:
    """What scheduling the email would do, worked out from its audience's time zones."""

    copies: int  # copies that would be queued
    soon: int  # of those, copies due now or within SOON
    first: datetime | None  # when the first and the last copy would leave (after the undo window)
    last: datetime | None
    skipped: int = 0  # copies left out because the email's phase is over for those learners
    note: str = ""  # what to say about them

    @property
    def needs_confirmation(self) -> bool:
        return self.soon > THRESHOLD

    @property
    def question(self) -> str:
        return f"Send {self.soon:,} copies now?"

    @property
    def time_range(self) -> str:
        if self.first is None or self.last is None:
            return ""
        first, last = (f"{t:%a %-d %b %Y %H:%M} UTC" for t in (self.first, self.last))
        if first == last:
            return f"Every copy leaves at {first}."
        return f"The first copy leaves at {first}, the last at {last}."


def outlook(email: CourseEmail, now: datetime | None = None) -> Outlook:
    """Counts and times per audience time zone (one query), as `scheduling.schedule` would queue."""
    now = now or timezone.now()
    if scheduling.email_schedule(email) is None:
        return Outlook(0, 0, None, None)
    p = scheduling.Personalizer(email, now, with_groups=False, hold=scheduling.undo_delay())
    phase = phases.PhaseClock(email)
    copies = soon = skipped = 0
    times: list[datetime] = []
    zones = audiences.recipients(email).values_list("timezone").annotate(n=Count("pk")).order_by()
    for zone, n in zones:
        when = p.instant(zone)
        if phase.over(zone, p.leaves(zone)):
            skipped += n
            continue
        copies += n
        soon += n if when <= now + SOON else 0
        times.append(p.not_before(zone))
    first, last = (min(times), max(times)) if times else (None, None)
    return Outlook(copies, soon, first, last, skipped, phases.note(email, skipped, copies, now))


def _fingerprint(email: CourseEmail, view: Outlook) -> str:
    spec = scheduling.email_schedule(email)
    asked = [email.cohort_id, str(email.public_id) if email.pk else "", email.subject, email.body,
             email.audience or {}, email.module_id, email.phase, spec.text() if spec else "",
             view.copies, view.soon]
    return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()[:32]


def token(email: CourseEmail, view: Outlook) -> str:
    """The value of the question's confirmation field."""
    return confirmations.ask(SALT, _fingerprint(email, view))


def check(email: CourseEmail, view: Outlook, value: str | None) -> str | None:
    """None when `value` confirms exactly this; otherwise why the question is asked (again)."""
    return confirmations.answer(SALT, _fingerprint(email, view), value, max_age=MAX_AGE, what="the numbers below",
                                changed="The email, its audience or its timing changed since you confirmed: "
                                        "check the numbers below and confirm again.")
