"""The course's one clock: calendar days, each learner's zone, and how dates are written.

A cohort starts on a calendar date, not at an instant. Course day N is the start date
plus N days on the learner's own calendar: a learner in Los Angeles and one in Kolkata
both begin on the start date, each at their own midnight. Dates are therefore shown as
they are, never converted between zones; instants (when a message was posted, when
signup closes) are shown in the reader's zone.

Every date and time a learner sees is written by these functions, which the templates
use through the filters of `mmooc.lib.clocktags` (`day`, `short_day`, `moment`):

    Wednesday 25 November 2026          day(date)
    Wed 25 Nov 2026                     short_day(date)
    Wed 25 Nov 2026, 09:00              moment(instant, zone)
    2026-11-25 09:00                    utc_stamp(instant): staff pages, in UTC

They follow the active language (names of days and months, and the order of the parts,
which each catalogue gives as a Django date format).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils import dateformat
from django.utils.translation import gettext_noop, pgettext

from mmooc.lib.timezones import local_datetime, zone

BEFORE, DURING, AFTER = "before", "during", "after"

# The names Django's date formats write, listed so that a catalogue may write them as its
# language does (Brazilian Portuguese in lower case): the project's catalogues come first.
DAY_AND_MONTH_NAMES = [
    gettext_noop("Monday"), gettext_noop("Tuesday"), gettext_noop("Wednesday"), gettext_noop("Thursday"),
    gettext_noop("Friday"), gettext_noop("Saturday"), gettext_noop("Sunday"),
    gettext_noop("January"), gettext_noop("February"), gettext_noop("March"), gettext_noop("April"),
    gettext_noop("May"), gettext_noop("June"), gettext_noop("July"), gettext_noop("August"),
    gettext_noop("September"), gettext_noop("October"), gettext_noop("November"), gettext_noop("December"),
]


def day(value: date | datetime | None) -> str:
    """A calendar date in full: "Wednesday 25 November 2026"."""
    if value is None:
        return ""
    # Translators: a Django date format for a full date, e.g. "Wednesday 25 November 2026".
    return dateformat.format(value, pgettext("date format", "l j F Y"))


def plain_day(value: date | datetime | None) -> str:
    """A calendar date without its weekday, as in a sentence: "25 November 2026"."""
    if value is None:
        return ""
    # Translators: a Django date format for a date in a sentence, e.g. "25 November 2026".
    return dateformat.format(value, pgettext("date format", "j F Y"))


def short_day(value: date | datetime | None) -> str:
    """A calendar date in short: "Wed 25 Nov 2026"."""
    if value is None:
        return ""
    # Translators: a Django date format for a short date, e.g. "Wed 25 Nov 2026".
    return dateformat.format(value, pgettext("date format", "D j M Y"))


def moment(instant: datetime | None, zone_name: str) -> str:
    """An instant on the wall clock of `zone_name`: "Wed 25 Nov 2026, 09:00"."""
    if instant is None:
        return ""
    local = in_zone(instant, zone_name)
    # Translators: a Django date format for a date and time, e.g. "Wed 25 Nov 2026, 09:00".
    return dateformat.format(local, pgettext("date format", "D j M Y, H:i"))


def utc_stamp(instant: datetime) -> str:
    """An instant as staff pages write it, in UTC: "2027-03-15 09:00" (not translated)."""
    return in_zone(instant, "UTC").strftime("%Y-%m-%d %H:%M")


def in_zone(instant: datetime, zone_name: str) -> datetime:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone(zone_name or "UTC"))


def today(zone_name: str, now: datetime) -> date:
    """The calendar date it is in `zone_name` at the instant `now`."""
    return in_zone(now, zone_name).date()


def course_day(start: date, offset: int) -> date:
    """Course day `offset` (day 0 is the start date), the same date in every zone."""
    return start + timedelta(days=offset)


def day_begins(on: date, zone_name: str) -> datetime:
    """The instant `on` begins (midnight) in `zone_name`, in UTC."""
    return local_datetime(on, time(0), zone_name or "UTC").astimezone(UTC)


def has_begun(on: date, zone_name: str, now: datetime) -> bool:
    """Whether the calendar day `on` has begun for someone in `zone_name`."""
    return today(zone_name, now) >= on


@dataclass(frozen=True)
class Stage:
    """Where a learner stands in a run: before the start, during it (which week), after it."""

    phase: str  # BEFORE, DURING or AFTER
    week: int  # the current week, 1-based, during the run; 0 before it; the last week after it
    days_in: int  # days since the start date (negative before it)

    @property
    def before(self) -> bool:
        return self.phase == BEFORE

    @property
    def during(self) -> bool:
        return self.phase == DURING

    @property
    def after(self) -> bool:
        return self.phase == AFTER

    @property
    def late(self) -> bool:
        """Joining now means joining after the first week began."""
        return self.phase == DURING and self.days_in >= 1


def stage(start: date, end: date, zone_name: str, now: datetime) -> Stage:
    """The learner's stage on their own calendar at the instant `now`."""
    current = today(zone_name, now)
    days_in = (current - start).days
    if current < start:
        return Stage(BEFORE, 0, days_in)
    if current > end:
        return Stage(AFTER, (end - start).days // 7 + 1, days_in)
    return Stage(DURING, days_in // 7 + 1, days_in)
