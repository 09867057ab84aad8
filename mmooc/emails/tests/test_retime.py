"""A learner who changes time zone: copies queued in their local time move to the new clock."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.learners import lifecycle, links
from mmooc.learners.models import LearnerEvent
from mmooc.learners.tests.helpers import path_of
from mmooc.mailer.models import Delivery
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen"),
              pytest.mark.cohort(tz="Europe/London", course={"modules": 3})]
# Week 3 (day 14 after 8 March 2027) at 09:00 local.
KOLKATA_NINE = datetime(2027, 3, 22, 3, 30, tzinfo=UTC)
NEW_YORK_NINE = datetime(2027, 3, 22, 13, 0, tzinfo=UTC)


def _email(cohort, schedule=CourseEmail.LOCAL, **fields):
    return CourseEmail.objects.create(
        cohort=cohort, subject="Week 3", module=cohort.course.modules.get(position=3), schedule=schedule,
        body="Hi {{ learner.first_name }}, it starts {{ local.start }} ({{ learner.timezone }}).\n",
        day_offset=14, local_time=time(9, 0), **fields)


def copy_of(email, learner):
    return email.message.deliveries.get(ref=str(learner.public_id))


def test_moving_from_kolkata_to_new_york_on_the_page_moves_the_queued_copy(client, cohort, organizer):
    priya = make_learner(cohort, "priya@example.org", timezone="Asia/Kolkata", name="Priya")
    other = make_learner(cohort, "other@example.org", timezone="Asia/Kolkata")
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    assert copy_of(email, priya).not_before == KOLKATA_NINE

    response = client.post(path_of(links.learner_page_url(priya)),
                           {"name": "Priya", "timezone": "America/New_York", "language": "en", "group": "group"})
    assert response.status_code == 302
    moved = copy_of(email, priya)
    assert moved.not_before == NEW_YORK_NINE and moved.status == Delivery.QUEUED
    assert moved.context["learner.timezone"] == "America/New_York"
    assert "Asia/Kolkata" not in " ".join(moved.context.values())
    assert copy_of(email, other).not_before == KOLKATA_NINE  # nobody else moves
    event = LearnerEvent.objects.get(learner=priya)
    assert (event.kind, event.note) == (LearnerEvent.ZONE_CHANGED, "Asia/Kolkata → America/New_York")


def test_an_email_at_the_cohorts_time_keeps_its_time_but_its_local_dates_follow(cohort, organizer):
    priya = make_learner(cohort, "priya@example.org", timezone="Asia/Kolkata")
    email = _email(cohort, schedule=CourseEmail.RELATIVE)
    scheduling.schedule(email, organizer)
    before = copy_of(email, priya).not_before
    lifecycle.change_timezone(priya, "America/New_York")
    after = copy_of(email, priya)
    assert after.not_before == before
    assert after.context["learner.timezone"] == "America/New_York"


def test_a_copy_already_sent_or_cancelled_is_left_alone(cohort, organizer):
    priya = make_learner(cohort, "priya@example.org", timezone="Asia/Kolkata")
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    Delivery.objects.filter(ref=str(priya.public_id)).update(status=Delivery.CANCELLED)
    lifecycle.change_timezone(priya, "America/New_York")
    assert copy_of(email, priya).not_before == KOLKATA_NINE


def test_the_same_zone_again_changes_nothing(cohort, organizer):
    priya = make_learner(cohort, "priya@example.org", timezone="Asia/Kolkata")
    assert not lifecycle.change_timezone(priya, "Asia/Kolkata")
    assert not LearnerEvent.objects.exists()
