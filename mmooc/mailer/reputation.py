"""Complaint rate per scope and day (MAIL_RULES 14): warn above 0.1 %, pause bulk mail at 0.3 %.

The rate is complaints ÷ delivered for one scope (`cohort:<id>`) on one UTC day: the
deliveries of that scope's messages with a "complained", resp. "delivered", provider event
that occurred that day. It is judged after each complaint is recorded, and only once the
day holds MIN_DELIVERED deliveries: one complaint in a small test cohort says nothing yet.

- above WARN_RATE: a warning in the log and the audit entry `mail.complaint-rate-warning`,
  once per scope and day;
- at PAUSE_RATE or above: every active subscribed message of the scope is paused, with the audit
  entry `mail.complaint-rate-paused`, once per scope and day. It stays paused until an
  organizer resumes it; one who resumes it decides for the rest of that day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q

from mmooc.audit.log import record
from mmooc.audit.models import AuditEntry
from mmooc.mailer import outbox
from mmooc.mailer.models import Event, Message

log = logging.getLogger("mmooc.mailer.reputation")

WARN_RATE = 0.001  # 0.1 %
PAUSE_RATE = 0.003  # 0.3 %
# Fewer deliveries in a day than this and the rate is not judged (1 complaint in 1,000 is 0.1 %).
MIN_DELIVERED = 1000
DELIVERED, COMPLAINED = "delivered", "complained"  # anymail's EventType values
WARNED, PAUSED = "mail.complaint-rate-warning", "mail.complaint-rate-paused"
OK, TOO_FEW = "ok", "too-few"


@dataclass(frozen=True)
class Rate:
    scope: str
    day: date
    delivered: int
    complaints: int

    @property
    def value(self) -> float:
        return self.complaints / self.delivered if self.delivered else 0.0

    def __str__(self) -> str:
        return (f"{self.scope} on {self.day.isoformat()}: {self.complaints} complaints for "
                f"{self.delivered} delivered ({self.value:.2%})")


def utc_day(when: datetime) -> date:
    return when.astimezone(UTC).date()


def complaint_rate(scope: str, day: date) -> Rate:
    """Complaints ÷ delivered for the scope's deliveries, from the events of that UTC day."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    events = Event.objects.filter(delivery__message__scope=scope, occurred_at__gte=start,
                                  occurred_at__lt=start + timedelta(days=1))
    # Per delivery: a provider repeating itself under a new event id counts once.
    counts = events.aggregate(
        delivered=Count("delivery", distinct=True, filter=Q(event_type=DELIVERED)),
        complaints=Count("delivery", distinct=True, filter=Q(event_type=COMPLAINED)))
    return Rate(scope, day, counts["delivered"], counts["complaints"])


def _done(action: str, rate: Rate) -> bool:
    return AuditEntry.objects.filter(action=action, details__scope=rate.scope,
                                     details__day=rate.day.isoformat()).exists()


def _details(rate: Rate) -> dict[str, object]:
    return {"scope": rate.scope, "day": rate.day.isoformat(), "delivered": rate.delivered,
            "complaints": rate.complaints}


def warn(rate: Rate) -> None:
    if _done(WARNED, rate):
        return
    log.warning("complaint rate above %.1f %%: %s", WARN_RATE * 100, rate)
    record(None, WARNED, None, f"Complaint rate above {WARN_RATE:.1%}: {rate}", **_details(rate))


def pause_bulk(rate: Rate) -> list[Message]:
    """Pause every active subscribed message of the scope; returns those paused."""
    if _done(PAUSED, rate):
        return []
    messages = list(Message.objects.filter(scope=rate.scope, kind=Message.SUBSCRIBED, state=Message.ACTIVE))
    for message in messages:
        outbox.pause(message)
    log.warning("complaint rate at %.1f %% or more, %d messages paused: %s", PAUSE_RATE * 100, len(messages), rate)
    record(None, PAUSED, None, f"Bulk mail paused, complaint rate at {PAUSE_RATE:.1%} or more: {rate}",
           messages=[str(m.public_id) for m in messages], **_details(rate))
    return messages


def judge(scope: str, day: date) -> str:
    """Warn or pause as the scope's rate that day requires; returns OK, TOO_FEW, WARNED or PAUSED."""
    rate = complaint_rate(scope, day)
    if rate.delivered < MIN_DELIVERED:
        return TOO_FEW
    if rate.value <= WARN_RATE:
        return OK
    warn(rate)
    if rate.value < PAUSE_RATE:  # MAIL_RULES 14: pause *at* 0.3 %
        return WARNED
    pause_bulk(rate)
    return PAUSED


def after_complaint(message: Message | None, occurred_at: datetime) -> str:
    """Called once a complaint about a copy of `message` is recorded."""
    if message is None or not message.scope:
        return OK
    return judge(message.scope, utc_day(occurred_at))
