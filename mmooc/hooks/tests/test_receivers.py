"""The check-in receiver and forgetting old events."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from mmooc import testing
from mmooc.hooks import events, sender
from mmooc.hooks.models import HookDelivery, HookEvent
from mmooc.lib import periodic


def test_a_checkin_is_told_with_its_learner_cohort_and_word(cohort, endpoint, webhook_receiver):
    from mmooc.checkins import parsing
    from mmooc.checkins.models import CheckIn
    from mmooc.checkins.signals import checkin_recorded

    learner = testing.make_learner(cohort)
    checkin = CheckIn.objects.create(learner=learner, cohort=cohort, week=3, status=parsing.STUCK, topic="recursion",
                                     source=CheckIn.REPLY)
    checkin_recorded.send(sender=CheckIn, checkin=checkin)  # the signal the checkins app sends, as it sends it
    sender.deliver_due()
    (event,) = webhook_receiver.events()
    assert event["type"] == "checkin.recorded"
    assert event["data"]["learner"] == {"id": str(learner.public_id)}
    assert event["data"]["checkin"] == {"id": checkin.pk, "week": 3, "status": parsing.STUCK, "topic": "recursion",
                                        "source": CheckIn.REPLY, "group": None}
    assert event["data"]["cohort"]["slug"] == "py-3"


def test_events_delivered_long_ago_are_forgotten_and_waiting_ones_kept(endpoint, webhook_receiver):
    events.emit(events.EMAIL_SENT, {"n": 1})
    sender.deliver_due()
    webhook_receiver.default = 500
    events.emit(events.EMAIL_SENT, {"n": 2})
    sender.deliver_due()
    with time_machine.travel(timezone.now() + timedelta(days=sender.KEEP_DAYS + 1)):
        assert sender.prune() >= 1
    assert [e.data for e in HookEvent.objects.all()] == [{"n": 2}]
    assert HookDelivery.objects.get().status == HookDelivery.PENDING


def test_the_sender_and_the_pruner_are_periodic_jobs():
    names = {job.name for job in periodic.jobs()}
    assert {"hooks.deliver", "hooks.prune", "emails.states"} <= names
