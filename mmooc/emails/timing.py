"""Schedule arithmetic: plain functions on dates, times and zone names, no database.

A schedule is one of:

- `now`: as soon as it is scheduled;
- `"2027-01-05 09:00"`: that wall-clock time in the cohort's time zone;
- `"day 7 at 09:00"`: that many days after the cohort's start date, at that wall-clock
  time in the cohort's time zone (day 0 is the start date; negative days come before);
- `"day 7 at 09:00 local"`: the same day and wall-clock time in each learner's own zone.

Wall-clock times are turned into instants with zoneinfo on the date concerned, so a
daylight-saving change between the start and day 7 is taken into account. A time that
does not exist on that date (the hour skipped when clocks go forward) is read with the
offset in force before the change, which lands it one hour later on the wall clock; a
time that happens twice (clocks going back) is its first occurrence. Fixed dates and
day-N schedules follow the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from mmooc.emails.exceptions import ScheduleError
from mmooc.lib.timezones import local_datetime

NOW, AT, RELATIVE, LOCAL = "now", "at", "relative", "local"
_DAY = re.compile(r"^day\s+(-?\d{1,4})\s+at\s+(\d{1,2}):(\d{2})(\s+local)?$", re.IGNORECASE)
_AT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Schedule:
    kind: str  # NOW, AT, RELATIVE or LOCAL
    at: datetime | None = None  # naive wall-clock time in the cohort's zone, for AT
    day: int | None = None  # days after the start date, for RELATIVE and LOCAL
    time: time | None = None  # wall-clock time, for RELATIVE and LOCAL

    def text(self) -> str:
        """The schedule written back in the course-folder form."""
        if self.kind == NOW:
            return "now"
        if self.kind == AT:
            assert self.at is not None
            return self.at.strftime("%Y-%m-%d %H:%M")
        assert self.time is not None
        suffix = " local" if self.kind == LOCAL else ""
        return f"day {self.day} at {self.time.strftime('%H:%M')}{suffix}"


FORMS = '"now", "YYYY-MM-DD HH:MM", "day N at HH:MM" or "day N at HH:MM local"'


def parse_schedule(text: str) -> Schedule:
    text = " ".join(str(text).split())
    if text.lower() == "now":
        return Schedule(NOW)
    match = _DAY.match(text)
    if match:
        day, hour, minute, local = match.groups()
        return Schedule(LOCAL if local else RELATIVE, day=int(day), time=_clock(int(hour), int(minute), text))
    match = _AT.match(text)
    if match:
        year, month, dayn, hour, minute = (int(g) for g in match.groups())
        try:
            return Schedule(AT, at=datetime(year, month, dayn, hour, minute))
        except ValueError as exc:
            raise ScheduleError(f"{text!r} is not a valid date and time ({exc})") from None
    raise ScheduleError(f"cannot read the schedule {text!r}; write {FORMS}")


def _clock(hour: int, minute: int, text: str) -> time:
    if hour > 23 or minute > 59:
        raise ScheduleError(f"{text!r}: {hour:02d}:{minute:02d} is not a time of day")
    return time(hour, minute)


def at_instant(at: datetime, zone_name: str) -> datetime:
    """The UTC instant of wall-clock `at` (naive) in `zone_name`."""
    return local_datetime(at.date(), at.time(), zone_name).astimezone(UTC)


def day_instant(start: date, day: int, at: time, zone_name: str) -> datetime:
    """The UTC instant of wall-clock `at` on the start date plus `day` days, in `zone_name`."""
    return local_datetime(start + timedelta(days=day), at, zone_name).astimezone(UTC)


def send_instant(schedule: Schedule, *, start: date, cohort_zone: str, learner_zone: str | None,
                 now: datetime) -> datetime:
    """When one copy is due: the cohort's instant, or the learner's own for LOCAL schedules."""
    if schedule.kind == NOW:
        return now
    if schedule.kind == AT:
        assert schedule.at is not None
        return at_instant(schedule.at, cohort_zone)
    assert schedule.day is not None and schedule.time is not None
    zone = learner_zone if schedule.kind == LOCAL and learner_zone else cohort_zone
    return day_instant(start, schedule.day, schedule.time, zone)


def shift(schedule: Schedule, days: int) -> Schedule:
    """The same schedule `days` later; relative schedules move with their cohort already."""
    if schedule.kind == AT and schedule.at is not None:
        return Schedule(AT, at=schedule.at + timedelta(days=days))
    return schedule
