from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.learners.models import Learner
from mmooc.learners.signals import learner_confirmed
from mmooc.mailer.engine import drain
from mmooc.mailer.models import Delivery, Suppression
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


def _confirm(learner):
    learner_confirmed.send(sender=Learner, learner=learner)


def _welcomes(learner):
    return Delivery.objects.filter(ref=str(learner.public_id), message__tag="welcome")


def test_it_sends_the_cohort_welcome_email_at_once():
    cohort = make_cohort()
    CourseEmail.objects.create(cohort=cohort, trigger="welcome", subject="Hello from {{ course.title }}",
                               body="Hi {{ learner.first_name }}, see {{ learner.page_url }}")
    learner = make_learner(cohort, name="Alan Turing")
    _confirm(learner)
    delivery = _welcomes(learner).get()
    assert delivery.message.subject == f"Hello from {cohort.course.title}"
    assert drain() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.SENT
    stored = message_from_bytes(bytes(delivery.stored), policy=policy.default)
    assert "Hi Alan" in stored.get_body(("plain",)).get_content()


def test_it_sends_the_built_in_welcome_when_the_cohort_has_none():
    learner = make_learner(make_cohort())
    _confirm(learner)
    assert _welcomes(learner).get().message.subject.startswith("Welcome to ")


def test_it_welcomes_each_learner_once():
    learner = make_learner(make_cohort())
    _confirm(learner)
    _confirm(learner)
    assert _welcomes(learner).count() == 1


def test_it_shares_one_message_between_learners_of_a_cohort():
    cohort = make_cohort()
    first, second = make_learner(cohort), make_learner(cohort)
    _confirm(first)
    _confirm(second)
    assert _welcomes(first).get().message_id == _welcomes(second).get().message_id


def test_it_does_not_welcome_a_suppressed_address():
    learner = make_learner(make_cohort(), "gone@example.org")
    Suppression.objects.create(address="gone@example.org", reason=Suppression.HARD_BOUNCE)
    _confirm(learner)
    assert not _welcomes(learner).exists()


def _text(learner) -> str:
    from mmooc.emails.templating import personalize

    delivery = _welcomes(learner).get()
    return personalize(delivery.message.body, delivery.full_context())


def test_a_learner_joining_ten_days_in_is_told_it_is_week_2_and_what_they_missed(time_machine):
    from datetime import date

    cohort = make_cohort(start=date(2030, 3, 4), tz="UTC")
    time_machine.move_to("2030-03-14 12:00Z")
    late = make_learner(cohort, name="Ravi Kumar", timezone="Asia/Kolkata")
    _confirm(late)
    text = _text(late)
    assert "we are in week 2" in text and "Week 1" in text
    assert "starts on" not in text and "See you on" not in text


def test_a_course_welcome_that_says_nothing_of_stages_gets_the_late_note(time_machine):
    from datetime import date

    cohort = make_cohort(start=date(2030, 3, 4), tz="UTC")
    CourseEmail.objects.create(cohort=cohort, trigger="welcome", subject="Hello",
                               body="Hi {{ learner.first_name }}, we start on {{ cohort.start_date }}.")
    time_machine.move_to("2030-03-20 12:00Z")
    late, later = make_learner(cohort), make_learner(cohort)
    _confirm(late)
    _confirm(later)
    assert "You joined in week 3" in _text(late)
    assert _welcomes(late).get().message_id == _welcomes(later).get().message_id


def test_before_the_start_the_welcome_says_when_it_starts(time_machine):
    from datetime import date

    cohort = make_cohort(start=date(2030, 3, 4), tz="UTC")
    time_machine.move_to("2030-03-01 12:00Z")
    learner = make_learner(cohort, timezone="America/Los_Angeles")
    _confirm(learner)
    text = _text(learner)
    assert "which starts on **Monday 4 March 2030**" in text and "we are in week" not in text


def test_after_the_end_the_welcome_points_to_the_archive(time_machine):
    from datetime import date

    cohort = make_cohort(start=date(2030, 3, 4), tz="UTC", weeks=2)
    time_machine.move_to("2030-04-01 12:00Z")
    learner = make_learner(cohort)
    _confirm(learner)
    text = _text(learner)
    assert "ended on Sunday 17 March 2030" in text and "[the course archive](" in text
