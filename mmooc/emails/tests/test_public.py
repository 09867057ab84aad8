from __future__ import annotations

from datetime import UTC, date, datetime, time

import feedparser
import icalendar
import pytest
import time_machine

from mmooc.courses.models import Cohort
from mmooc.emails import scheduling
from mmooc.emails.links import calendar_url
from mmooc.emails.models import CourseEmail
from mmooc.mailer.engine import drain
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db,
              pytest.mark.cohort(tz="America/New_York", title="Spring 2027", course={"slug": "py"})]


@pytest.fixture(autouse=True)
def week_one_sent(cohort, organizer):
    """Week 1 was sent on 8 March 2027 (to a learner whose name no public page shows); week 2 waits."""
    make_learner(cohort, name="Secret Person", email="secret@example.org")
    with time_machine.travel(datetime(2027, 3, 1, 12, tzinfo=UTC), tick=False):
        for day, subject in ((0, "Week 1 of {{ course.title }}"), (7, "Week 2")):
            email = CourseEmail.objects.create(
                cohort=cohort, subject=subject, module=cohort.course.modules.get(position=day // 7 + 1),
                body="Hi {{ learner.first_name }}, [unsubscribe]({{ unsubscribe_url }}) {{ group.address }}",
                schedule=CourseEmail.LOCAL, day_offset=day, local_time=time(9))
            scheduling.schedule(email, organizer)
    with time_machine.travel(datetime(2027, 3, 8, 15, tzinfo=UTC), tick=False):
        drain()  # week 1 leaves; week 2 waits


def _sent(cohort):
    return cohort.emails.get(day_offset=0)


def test_it_shows_a_sent_email_without_personal_data(client, cohort):
    response = client.get(f"/emails/{_sent(cohort).public_id}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Week 1 of Course" in page and "Hi there" in page
    assert "Secret" not in page and "secret@" not in page and "/u/" not in page


def test_it_hides_an_email_not_sent_yet(client, cohort):
    assert client.get(f"/emails/{cohort.emails.get(day_offset=7).public_id}/").status_code == 404


def test_it_lists_sent_emails_in_the_archive(client, cohort):
    page = client.get("/py/py-1/archive/").content.decode()
    assert "Week 1 of Course" in page and "Week 2" not in page
    assert "/py/py-1/feed.atom" in page and "/py/py-1/calendar.ics" in page


def test_it_hides_the_archive_of_a_draft_cohort(client, cohort):
    Cohort.objects.filter(pk=cohort.pk).update(state=Cohort.DRAFT)
    assert client.get("/py/py-1/archive/").status_code == 404


def test_it_publishes_an_atom_feed_of_sent_emails(client, cohort):
    response = client.get("/py/py-1/feed.atom")
    feed = feedparser.parse(response.content)
    assert response["Content-Type"].startswith("application/atom+xml")
    assert not feed.bozo
    assert feed.feed.title.endswith("(Spring 2027)")
    assert [e.title for e in feed.entries] == [f"Week 1 of {cohort.course.title}"]
    entry = feed.entries[0]
    assert entry.link.endswith(f"/emails/{_sent(cohort).public_id}/")
    assert entry.id == f"urn:uuid:{_sent(cohort).public_id}"
    assert entry.published_parsed[:5] == (2027, 3, 8, 15, 0)  # when the engine sent it
    assert "Hi there" in entry.summary and "Secret" not in entry.summary


def test_it_publishes_the_schedule_as_icalendar(client, cohort):
    response = client.get("/py/py-1/calendar.ics")
    assert response["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert events["Week 1"].decoded("dtstart") == date(2027, 3, 8)
    assert events["Week 2"].decoded("dtstart") == date(2027, 3, 15)
    week2 = events["Course email: Week 2"].decoded("dtstart")
    assert week2 == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)  # 09:00 in New York, summer time


def test_it_gives_the_calendar_in_the_learner_time_zone(client, cohort):
    response = client.get(calendar_url(cohort, "Asia/Kolkata").removeprefix("http://127.0.0.1:8000"))
    cal = icalendar.Calendar.from_ical(response.content)
    week1 = next(e for e in cal.walk("VEVENT") if str(e["summary"]).startswith("Course email: Week 1"))
    start = week1.decoded("dtstart")
    assert start == datetime(2027, 3, 8, 3, 30, tzinfo=UTC)
    assert str(start.tzinfo) == "Asia/Kolkata"


def test_it_refuses_an_unknown_time_zone(client, cohort):
    response = client.get("/py/py-1/calendar.ics?tz=Mars/Olympus")
    assert response.status_code == 400 and b"Unknown time zone" in response.content


def test_it_refuses_post(client, cohort):
    assert client.post("/py/py-1/feed.atom").status_code == 405
    assert client.post("/py/py-1/calendar.ics").status_code == 405
