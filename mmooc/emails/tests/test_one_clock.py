"""One clock: course day N is the start date plus N on each learner's own calendar, and the
welcome, the weekly email's arrival and the calendar file all agree on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.emails.public_views import ical
from mmooc.lib import clock
from mmooc.testing import make_learner

# Monday 4 March 2030, in a cohort kept in UTC. US clocks go forward on 10 March (day 6);
# Chatham's go back from +13:45 to +12:45 on 7 April (day 34).
pytestmark = [pytest.mark.django_db, pytest.mark.cohort(start=date(2030, 3, 4), tz="UTC", course={"modules": 3})]

ZONES = ["America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]


def _weekly(cohort, day: int) -> CourseEmail:
    return CourseEmail.objects.create(cohort=cohort, module=cohort.course.modules.get(position=2),
                                      subject="Week 2", body="Hello", schedule=CourseEmail.LOCAL,
                                      day_offset=day, local_time=time(9, 0))


@pytest.mark.parametrize("zone", ZONES)
def test_the_start_and_the_weeks_are_calendar_dates_in_every_zone(cohort, zone):
    values = scheduling.Personalizer(_weekly(cohort, 7)).context(make_learner(cohort, timezone=zone))
    assert values["local.start"] == "Monday 4 March 2030"
    assert values["local.module_release"] == "Monday 11 March 2030"


@pytest.mark.parametrize(("zone", "day", "arrives"), [
    ("America/Los_Angeles", 7, datetime(2030, 3, 11, 16, 0, tzinfo=UTC)),  # 09:00 PDT, new offset
    ("Asia/Kolkata", 7, datetime(2030, 3, 11, 3, 30, tzinfo=UTC)),
    ("Pacific/Chatham", 35, datetime(2030, 4, 7, 20, 15, tzinfo=UTC)),  # 09:00 +12:45 on 8 April
])
def test_a_weekly_email_arrives_on_the_course_day_its_calendar_shows(cohort, zone, day, arrives):
    email = _weekly(cohort, day)
    learner = make_learner(cohort, timezone=zone)
    p = scheduling.Personalizer(email)
    when = p.not_before(zone)
    assert when == arrives
    assert clock.today(zone, when) == clock.course_day(cohort.start_date, day)
    # The learner's calendar link is in their zone, and it lists the email at 09:00 that day.
    url = p.context(learner)["calendar_url"]
    assert url.endswith("?tz=" + zone.replace("/", "%2F"))
    text = ical(cohort, zone).decode()
    stamp = clock.course_day(cohort.start_date, day).strftime("%Y%m%d")
    assert f"DTSTART;TZID={zone}:{stamp}T090000" in text
    assert "DTSTART;VALUE=DATE:20300311" in text  # week 2, all day on its date


def test_public_copies_say_the_start_date_and_the_cohorts_calendar(cohort):
    from mmooc.emails.public_views import public_text

    email = _weekly(cohort, 7)
    email.body = "Starts {{ local.start }}; week {{ local.module_release }}; {{ calendar_url }}"
    _, body = public_text(email)
    assert body.startswith("Starts Monday 4 March 2030; week Monday 11 March 2030; http")
    assert "calendar.ics" in body


def test_each_zones_send_time_is_worked_out_once_and_held_to_the_undo_window(cohort, monkeypatch):
    from datetime import timedelta

    from mmooc.emails import timing

    asked = []
    real = timing.send_instant
    monkeypatch.setattr(timing, "send_instant", lambda spec, **kw: asked.append(kw["learner_zone"]) or real(spec, **kw))
    email = _weekly(cohort, 7)
    # Kolkata's 09:00 comes in 30 minutes, Chatham's has passed: both wait for the hold's end.
    now = datetime(2030, 3, 11, 3, 0, tzinfo=UTC)
    p = scheduling.Personalizer(email, now, hold=timedelta(hours=1))
    times = [p.not_before(zone) for zone in ZONES * 3] + [p.leaves(zone) for zone in ZONES]
    assert asked == ZONES
    assert times[:3] == [datetime(2030, 3, 11, 16, 0, tzinfo=UTC), now + timedelta(hours=1), now + timedelta(hours=1)]
    assert times[3:9] == times[:3] * 2 and times[9:] == times[:3]
