"""Schedule arithmetic, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmooc.emails.timing import (
    AT,
    LOCAL,
    NOW,
    RELATIVE,
    Schedule,
    ScheduleError,
    parse_schedule,
    send_instant,
    shift,
)
from mmooc.lib.timezones import available_zones

START = date(2027, 3, 8)  # a Monday; New York moves to summer time on Sunday 14 March 2027
NOW_ = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _local(day: int, zone: str) -> datetime:
    spec = Schedule(LOCAL, day=day, time=time(9, 0))
    return send_instant(spec, start=START, cohort_zone="Europe/London", learner_zone=zone, now=NOW_)


def test_it_reads_each_form():
    assert parse_schedule("now") == Schedule(NOW)
    assert parse_schedule("2027-03-08 09:30") == Schedule(AT, at=datetime(2027, 3, 8, 9, 30))
    assert parse_schedule("day 7 at 09:00") == Schedule(RELATIVE, day=7, time=time(9))
    assert parse_schedule("day -3 at 10:00 local") == Schedule(LOCAL, day=-3, time=time(10))


@pytest.mark.parametrize("text", ["now", "2027-03-08 09:30", "day 7 at 09:00", "day -3 at 10:00 local"])
def test_it_writes_back_what_it_reads(text):
    assert parse_schedule(text).text() == text


@pytest.mark.parametrize("text, message", [
    ("2027-02-30 09:00", "not a valid date"),
    ("day 7 at 25:00", "not a time of day"),
    ("next monday", "cannot read the schedule"),
])
def test_it_rejects_what_it_cannot_read(text, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text)


def test_it_sends_relative_emails_at_the_cohort_time():
    spec = Schedule(RELATIVE, day=7, time=time(9))
    when = send_instant(spec, start=START, cohort_zone="Asia/Kolkata", learner_zone="Pacific/Honolulu", now=NOW_)
    assert when == datetime(2027, 3, 15, 3, 30, tzinfo=UTC)


def test_it_sends_at_a_date_in_the_cohort_zone():
    spec = Schedule(AT, at=datetime(2027, 3, 20, 18, 0))
    when = send_instant(spec, start=START, cohort_zone="America/New_York", learner_zone=None, now=NOW_)
    assert when == datetime(2027, 3, 20, 22, 0, tzinfo=UTC)


def test_it_sends_now_at_once():
    assert send_instant(Schedule(NOW), start=START, cohort_zone="UTC", learner_zone=None, now=NOW_) == NOW_


def test_it_sends_at_nine_in_honolulu():
    assert _local(7, "Pacific/Honolulu") == datetime(2027, 3, 15, 19, 0, tzinfo=UTC)


def test_it_sends_at_nine_in_kolkata():
    assert _local(7, "Asia/Kolkata") == datetime(2027, 3, 15, 3, 30, tzinfo=UTC)


def test_it_sends_at_nine_in_tonga_the_day_before_in_utc():
    assert _local(7, "Pacific/Tongatapu") == datetime(2027, 3, 14, 20, 0, tzinfo=UTC)


def test_it_follows_new_york_into_summer_time():
    assert _local(0, "America/New_York") == datetime(2027, 3, 8, 14, 0, tzinfo=UTC)
    assert _local(7, "America/New_York") == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)


def test_it_follows_berlin_into_summer_time():
    assert _local(14, "Europe/Berlin") == datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
    assert _local(21, "Europe/Berlin") == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)


def test_it_moves_a_time_skipped_by_the_clock_change_one_hour_later():
    spec = Schedule(LOCAL, day=6, time=time(2, 30))  # 2:30 does not exist on 14 March in New York
    when = send_instant(spec, start=START, cohort_zone="UTC", learner_zone="America/New_York", now=NOW_)
    assert when == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_it_shifts_fixed_dates_only():
    assert shift(Schedule(AT, at=datetime(2027, 3, 8, 9)), 14).at == datetime(2027, 3, 22, 9)
    assert shift(Schedule(RELATIVE, day=7, time=time(9)), 14) == Schedule(RELATIVE, day=7, time=time(9))


@given(zone=st.sampled_from(sorted(available_zones())), day=st.integers(min_value=-30, max_value=400),
       hour=st.integers(min_value=0, max_value=23))
def test_it_lands_on_the_wall_clock_time_in_any_zone(zone, day, hour):
    when = send_instant(Schedule(LOCAL, day=day, time=time(hour)), start=START, cohort_zone="UTC",
                        learner_zone=zone, now=NOW_)
    local = when.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    wanted = datetime.combine(START + timedelta(days=day), time(hour))
    # Exactly, or later by the gap when the time does not exist on that day (clocks going forward).
    assert local - wanted in (timedelta(0), timedelta(minutes=30), timedelta(hours=1))


def test_a_fixed_date_at_a_time_the_clock_skips_goes_out_one_hour_later():
    spec = parse_schedule("2027-03-14 02:30")  # clocks in New York go from 02:00 to 03:00
    when = send_instant(spec, start=START, cohort_zone="America/New_York", learner_zone=None, now=NOW_)
    assert when == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert when.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "03:30 EDT"


def test_a_fixed_date_at_a_time_the_clock_repeats_goes_out_at_the_first_occurrence():
    spec = parse_schedule("2027-11-07 01:30")  # clocks in New York go from 02:00 back to 01:00
    when = send_instant(spec, start=START, cohort_zone="America/New_York", learner_zone=None, now=NOW_)
    assert when == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    assert when.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "01:30 EDT"


def test_a_day_n_schedule_at_a_repeated_time_goes_out_at_the_first_occurrence():
    spec = Schedule(RELATIVE, day=6, time=time(1, 30))  # 7 November 2027 from a start on 1 November
    when = send_instant(spec, start=date(2027, 11, 1), cohort_zone="America/New_York", learner_zone=None, now=NOW_)
    assert when == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_it_reads_the_last_minute_of_the_day():
    assert parse_schedule("day 1 at 23:59") == Schedule(RELATIVE, day=1, time=time(23, 59))


@pytest.mark.parametrize("text", ["day 1 at 09:60", "day 1 at 24:00"])
def test_it_refuses_a_time_of_day_past_the_clock(text):
    with pytest.raises(ScheduleError, match="not a time of day"):
        parse_schedule(text)
