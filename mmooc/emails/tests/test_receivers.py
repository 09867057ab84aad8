from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.learners.models import Learner
from mmooc.learners.signals import learner_confirmed
from mmooc.testing import make_cohort, make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]



def test_it_adds_a_learner_who_confirms_late_to_scheduled_emails(organizer, cohort):
    make_learner(cohort)
    email = CourseEmail.objects.create(cohort=cohort, subject="Week 2", body="Hi {{ learner.first_name }}",
                                       schedule=CourseEmail.LOCAL, day_offset=7, local_time=time(9))
    scheduling.schedule(email, organizer)
    late = make_learner(cohort, timezone="Asia/Kolkata")
    learner_confirmed.send(sender=Learner, learner=late)
    delivery = email.message.deliveries.get(ref=str(late.public_id))
    assert delivery.not_before == datetime(2027, 3, 15, 3, 30, tzinfo=UTC)


def test_it_keeps_a_failure_away_from_the_learner(monkeypatch, caplog):
    learner = make_learner(make_cohort())

    def broken(learner):
        raise RuntimeError("database gone")

    monkeypatch.setattr(scheduling, "send_welcome", broken)
    learner_confirmed.send(sender=Learner, learner=learner)
    assert "course emails for newly confirmed learner" in caplog.text
