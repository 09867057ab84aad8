"""What learners do on the mail engine's unsubscribed, complained and suppressed signals."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner, Unsubscribe
from mmooc.mailer import outbox
from mmooc.mailer.models import Message, Suppression
from mmooc.mailer.signals import complained, suppressed, unsubscribed
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db



def test_a_provider_unsubscribe_stops_course_mail_for_the_delivery_cohort(learner):
    other = make_learner(make_cohort(), "ada@example.org")
    delivery = outbox.send(to=learner.email, subject="Week 1", body="Hi", ref=str(learner.public_id),
                           scope=Cohort.scope_for(learner.cohort_id), tag="course-email")
    unsubscribed.send(sender=Message, address="ADA@example.org", delivery=delivery, source="mailgun")
    learner.refresh_from_db()
    other.refresh_from_db()
    assert learner.unsubscribed_at is not None and other.unsubscribed_at is None
    assert Unsubscribe.objects.get().source == Unsubscribe.PROVIDER


def test_a_provider_unsubscribe_on_group_mail_leaves_the_group(learner):
    membership = testing.join(testing.make_group(learner.cohort, 1), learner)
    delivery = outbox.send(to=learner.email, subject="Post", body="Hi", ref=str(learner.public_id), tag="relay")
    unsubscribed.send(sender=Message, address=learner.email, delivery=delivery, source="mailto")
    membership.refresh_from_db()
    learner.refresh_from_db()
    assert membership.left_at is not None and learner.unsubscribed_at is None


def test_an_unsubscribe_without_delivery_stops_every_cohort(learner):
    other = make_learner(make_cohort(), "ada@example.org")
    unsubscribed.send(sender=Message, address="ada@example.org", delivery=None, source="mailto")
    assert Learner.objects.filter(pk__in=[learner.pk, other.pk], unsubscribed_at__isnull=False).count() == 2


def test_a_complaint_flags_the_learner_and_stops_course_mail(learner):
    complained.send(sender=Message, address="Ada@Example.org", delivery=None)
    learner.refresh_from_db()
    assert learner.complained_at is not None and learner.unsubscribed_at is not None


def test_an_unsubscribe_suppression_is_recorded_once(learner):
    row = Suppression.objects.create(address="ada@example.org", reason=Suppression.UNSUBSCRIBE)
    suppressed.send(sender=Suppression, suppression=row)
    suppressed.send(sender=Suppression, suppression=row)
    assert Unsubscribe.objects.filter(learner=learner, scope="site").count() == 1


def test_a_bounce_suppression_changes_no_learner(learner):
    row = Suppression.objects.create(address="ada@example.org", reason=Suppression.HARD_BOUNCE)
    suppressed.send(sender=Suppression, suppression=row)
    assert not Unsubscribe.objects.exists()
