"""GET/POST /me/<token>: the learner's own page and preferences."""

from __future__ import annotations

from datetime import date

import pytest

from mmooc import testing
from mmooc.learners import links
from mmooc.learners.tests.helpers import path_of
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.cohort(start=date(2030, 3, 4), tz="UTC"),
              pytest.mark.learner(timezone="Asia/Kolkata")]



def page(learner):
    return path_of(links.learner_page_url(learner))


def test_it_shows_each_week_on_its_calendar_date_whatever_the_zone(client, learner):
    content = client.get(page(learner)).content.decode()
    # Course day 7 is Monday 11 March on every learner's calendar; no time is converted.
    assert "Monday 11 March 2030" in content and "05:30" not in content
    assert "Asia/Kolkata" in content


@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles", "Pacific/Chatham"])
def test_week_dates_do_not_move_across_a_daylight_saving_change(client, cohort, zone):
    learner = make_learner(cohort, timezone=zone)
    content = client.get(page(learner)).content.decode()
    # US clocks go forward on 10 March 2030, Chatham's go back on 7 April: the weeks stay on Mondays.
    assert "Monday 4 March 2030" in content and "Monday 11 March 2030" in content
    assert "Sunday" not in content and "Tuesday" not in content


def test_it_marks_this_weeks_resources(client, learner, time_machine):
    time_machine.move_to("2030-03-12 12:00Z")
    content = client.get(page(learner)).content.decode()
    assert "(this week)" in content and "Reading 2" in content and "https://books.example.org/ch2.html" in content


def test_it_saves_preferences(client, learner):
    response = client.post(page(learner), {"name": "Ada King", "timezone": "Europe/London", "language": "fr",
                                           "group": "solo"})
    assert response.status_code == 302
    learner.refresh_from_db()
    assert (learner.name, learner.timezone, learner.country, learner.language, learner.wants_group) == (
        "Ada King", "Europe/London", "GB", "fr", False)


def test_it_refuses_bad_preferences_and_changes_nothing(client, learner):
    response = client.post(page(learner), {"name": "Ada\r\nX", "timezone": "Moon/Base", "language": "en",
                                           "group": "group"})
    assert response.status_code == 400
    assert "not a known time zone" in response.content.decode()
    learner.refresh_from_db()
    assert (learner.name, learner.timezone) == ("Ada Lovelace", "Asia/Kolkata")


def test_it_shows_a_clear_page_for_a_tampered_link(client, learner):
    path = page(learner)
    response = client.post(path.replace("/me/", "/me/0", 1), {"name": "Mallory", "timezone": "UTC",
                                                               "language": "en"})
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()
    learner.refresh_from_db()
    assert (learner.name, learner.timezone) == ("Ada Lovelace", "Asia/Kolkata")


def test_it_refuses_other_methods(client, learner):
    assert client.put(page(learner), "name=Mallory&timezone=UTC").status_code == 405
    learner.refresh_from_db()
    assert (learner.name, learner.timezone) == ("Ada Lovelace", "Asia/Kolkata")


def test_it_shows_the_group_once_grouped(client, learner):
    group = testing.make_group(learner.cohort, 12, address="py-group-12@lists.example.org")
    testing.join(group, learner)
    content = client.get(page(learner)).content.decode()
    assert "Group 12" in content and "py-group-12@lists.example.org" in content and "1 member" in content


@pytest.mark.parametrize(("now", "says"), [("2030-03-01 12:00Z", "The course starts on"),
                                           ("2030-03-14 12:00Z", "We are in week 2"),
                                           ("2030-06-01 12:00Z", "This run of the course ended on")])
def test_it_says_where_the_run_stands_for_the_learner(client, learner, time_machine, now, says):
    time_machine.move_to(now)
    assert says in client.get(page(learner)).content.decode()
