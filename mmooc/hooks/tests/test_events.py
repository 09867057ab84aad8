"""Each event is emitted by the code that makes it happen, and reaches the receiver."""

from __future__ import annotations

import json

import pytest
from anymail.signals import AnymailTrackingEvent

from mmooc import testing
from mmooc.emails.models import CourseEmail
from mmooc.emails.scheduling import refresh_sending
from mmooc.groups.apply import apply_grouping
from mmooc.groups.membership import place_late_joiner
from mmooc.hooks import sender
from mmooc.hooks.models import HookEvent
from mmooc.learners import lifecycle
from mmooc.learners.models import Learner
from mmooc.lists import relay
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import events as mail_events
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message


@pytest.fixture
def told(endpoint, webhook_receiver):
    """The events the receiver has been sent so far: (type, data) pairs."""
    def told() -> list[tuple[str, dict]]:
        sender.deliver_due()
        return [(e["type"], e["data"]) for e in webhook_receiver.events()]
    return told


def test_confirming_a_learner_tells_learner_confirmed(cohort, told, django_capture_on_commit_callbacks):
    learner = testing.make_learner(cohort, "ada@example.org", state=Learner.PENDING, name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.confirm(learner)
    ((kind, data),) = told()
    assert kind == "learner.confirmed"
    assert data["learner"]["id"] == str(learner.public_id)
    assert (data["learner"]["email"], data["learner"]["state"]) == ("ada@example.org", "confirmed")
    assert data["cohort"] == {"slug": "py-3", "course": cohort.course.slug}


def test_leaving_tells_learner_left(cohort, told, django_capture_on_commit_callbacks):
    learner = testing.make_learner(cohort)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.leave(learner)
    assert [(k, d["learner"]["id"]) for k, d in told()] == [("learner.left", str(learner.public_id))]


def test_erasing_tells_learner_erased_and_takes_them_out_of_kept_events(
        cohort, told, django_capture_on_commit_callbacks):
    learner = testing.make_learner(cohort, "ada@example.org", state=Learner.PENDING, name="Ada Lovelace")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.confirm(learner)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.erase(learner)
    kinds = [k for k, _ in told()]
    assert kinds == ["learner.confirmed", "learner.erased"]  # no learner.left beside it
    kept = json.dumps(list(HookEvent.objects.values_list("data", flat=True)))
    assert "ada@example.org" not in kept and "Lovelace" not in kept
    assert str(learner.public_id) in kept


def test_applying_grouping_tells_group_formed_for_each_group(cohort, told, django_capture_on_commit_callbacks):
    learners = [testing.make_learner(cohort) for _ in range(6)]
    with django_capture_on_commit_callbacks(execute=True):
        apply_grouping(cohort, target_size=6)
    formed = [d for k, d in told() if k == "group.formed"]
    assert len(formed) == 1
    assert sorted(formed[0]["members"]) == sorted(str(x.public_id) for x in learners)
    assert formed[0]["group"]["number"] == 1 and formed[0]["group"]["address"].startswith("py-3-group-1@")


def test_placing_a_late_joiner_tells_group_joined(cohort, told, django_capture_on_commit_callbacks):
    for _ in range(6):
        testing.make_learner(cohort)
    apply_grouping(cohort, target_size=6)
    late = testing.make_learner(cohort)
    with django_capture_on_commit_callbacks(execute=True):
        assert place_late_joiner(late) is not None
    joined = [d for k, d in told() if k == "group.joined"]
    assert [d["learner"]["id"] for d in joined] == [str(late.public_id)]


def test_relaying_a_post_tells_post_relayed(cohort, told, django_capture_on_commit_callbacks):
    group = testing.make_group(cohort, 1)
    alice = testing.add_member(group, "alice@example.org", name="Alice Smith").learner
    testing.add_member(group, "bob@example.org")
    raw = raw_post(to=group.address, subject="Meeting on Tuesday", message_id="<p1@mail.example.org>")
    with django_capture_on_commit_callbacks(execute=True):
        (outcome,) = relay.receive(raw, "alice@example.org", [group.address])
    assert outcome.action == relay.RELAYED
    ((kind, data),) = told()
    assert kind == "post.relayed"
    assert data["post"]["subject"] == "Meeting on Tuesday" and data["post"]["author"] == str(alice.public_id)
    assert data["group"]["address"] == group.address


def test_a_held_post_is_not_told(cohort, told, django_capture_on_commit_callbacks):
    group = testing.make_group(cohort, 1, members=["alice@example.org", "bob@example.org"])
    with django_capture_on_commit_callbacks(execute=True):
        relay.receive(raw_post(to=group.address), "alice@example.org", [group.address], held_reason="spam")
    assert told() == []


def _course_email(cohort, status: str) -> CourseEmail:
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Week 1", body="Hello",
                             scope=f"cohort:{cohort.pk}", tag="course-email")
    learner = testing.make_learner(cohort)
    outbox.enqueue(message, [outbox.Recipient(learner.email, ref=str(learner.public_id))])
    Delivery.objects.filter(message=message).update(status=status)
    return CourseEmail.objects.create(cohort=cohort, subject="Week 1", body="Hello", state=CourseEmail.SENDING,
                                      audience={"kind": "all"}, message=message)


def test_a_course_email_that_finished_sending_tells_email_sent_once(cohort, told):
    email = _course_email(cohort, Delivery.SENT)
    refresh_sending()
    refresh_sending()
    ((kind, data),) = told()
    assert kind == "email.sent"
    assert data["email"]["id"] == str(email.public_id) and data["email"]["progress"]["sent"] == 1


def test_a_course_email_still_sending_is_not_told(cohort, told):
    _course_email(cohort, Delivery.QUEUED)
    refresh_sending()
    assert told() == []


def test_a_complaint_from_the_provider_tells_complaint(cohort, told):
    email = _course_email(cohort, Delivery.SENT)
    delivery = Delivery.objects.get(message=email.message)
    Delivery.objects.filter(pk=delivery.pk).update(provider_id="pm-9")
    mail_events.record_event("postmark", AnymailTrackingEvent(
        event_type="complained", recipient=delivery.recipient, message_id="pm-9", event_id="ev-9",
        esp_event={"RecordType": "SpamComplaint", "Email": delivery.recipient}))
    complaints = [d for k, d in told() if k == "complaint"]
    assert len(complaints) == 1
    assert complaints[0]["address"] == delivery.recipient
    assert complaints[0]["learner"] == {"id": delivery.ref} and complaints[0]["cohort"]["slug"] == "py-3"


def test_pausing_a_course_email_tells_sending_paused(cohort, told, organizer, client):
    email = _course_email(cohort, Delivery.QUEUED)
    client.force_login(organizer)
    response = client.post(f"/dashboard/emails/{email.public_id}/pause/")
    assert response.status_code == 302, response.content[:500]
    ((kind, data),) = told()
    assert kind == "sending.paused"
    assert data["email"] == {"id": str(email.public_id), "subject": "Week 1"}
    assert data["message"] == str(email.message.public_id)
