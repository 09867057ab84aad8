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
