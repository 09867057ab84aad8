from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from mmooc.audit.models import AuditEntry
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.emails.timing import LOCAL, RELATIVE, Schedule
from mmooc.groups.models import Membership, StudyGroup
from mmooc.mailer.engine import drain
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import make_cohort, make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen"),
              pytest.mark.cohort(tz="Europe/London", course={"modules": 3})]
START = date(2027, 3, 8)
ZONES = ["Pacific/Honolulu", "Asia/Kolkata", "Pacific/Tongatapu", "America/New_York", "Europe/Berlin"]




def _email(cohort, **fields) -> CourseEmail:
    fields.setdefault("subject", "Week {{ module.position }} of {{ course.title }}")
    fields.setdefault("body", "Hi {{ learner.first_name }}, read {{ module.title }}.\n")
    fields.setdefault("module", cohort.course.modules.get(position=2))
    fields.setdefault("schedule", CourseEmail.LOCAL)
    fields.setdefault("day_offset", 7)
    fields.setdefault("local_time", time(9, 0))
    return CourseEmail.objects.create(cohort=cohort, **fields)


def _times(email) -> dict[str, datetime]:
    return {d.recipient.split("@")[0]: d.not_before for d in email.message.deliveries.all()}


def _learners(cohort):
    return {zone: make_learner(cohort, f"{zone.split('/')[1].lower()}@example.org", timezone=zone)
            for zone in ZONES}


def test_it_queues_each_learner_at_nine_in_their_own_zone(cohort, organizer):
    _learners(cohort)
    email = _email(cohort)
    assert scheduling.schedule(email, organizer) == 5
    assert _times(email) == {
        "honolulu": datetime(2027, 3, 15, 19, 0, tzinfo=UTC),
        "kolkata": datetime(2027, 3, 15, 3, 30, tzinfo=UTC),
        "tongatapu": datetime(2027, 3, 14, 20, 0, tzinfo=UTC),
        "new_york": datetime(2027, 3, 15, 13, 0, tzinfo=UTC),  # summer time since 14 March
        "berlin": datetime(2027, 3, 15, 8, 0, tzinfo=UTC),
    }


def test_it_queues_everyone_at_the_cohort_time_for_a_relative_schedule(cohort, organizer):
    _learners(cohort)
    email = _email(cohort, schedule=CourseEmail.RELATIVE, day_offset=21)
    scheduling.schedule(email, organizer)
    assert set(_times(email).values()) == {datetime(2027, 3, 29, 8, 0, tzinfo=UTC)}  # London summer time


def test_it_marks_the_email_scheduled_and_records_it(cohort, organizer):
    make_learner(cohort)
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    email.refresh_from_db()
    assert email.state == CourseEmail.SCHEDULED
    assert email.message.subject == "Week 2 of " + cohort.course.title
    assert AuditEntry.objects.filter(action="email.scheduled", object_id=str(email.pk)).exists()


def test_it_fills_in_each_learner_values(cohort, organizer):
    learner = make_learner(cohort, name="Grace Hopper")
    email = _email(cohort, schedule=CourseEmail.RELATIVE, day_offset=-7)
    scheduling.schedule(email, organizer)
    delivery = email.message.deliveries.get()
    assert delivery.ref == str(learner.public_id)
    assert delivery.context["learner.first_name"] == "Grace"
    # Its links are made from its ref when it is sent (test_sent_links), not kept in its row.
    assert "unsubscribe_url" not in delivery.context
    assert delivery.full_context()["unsubscribe_url"].startswith("http")
    assert "{{ learner.first_name }}" in email.message.body


def test_it_gives_group_values_to_grouped_learners(cohort, organizer):
    learner = make_learner(cohort)
    group = StudyGroup.objects.create(cohort=cohort, number=3, name="Group 3", address="g3@lists.example.org")
    Membership.objects.create(group=group, learner=learner)
    email = _email(cohort, body="Write to {{ group.name }} at {{ group.address }} ({{ group.size }} people)")
    scheduling.schedule(email, organizer)
    context = email.message.deliveries.get().context
    assert (context["group.name"], context["group.address"], context["group.size"]) == (
        "Group 3", "g3@lists.example.org", "1")


def test_it_stores_only_the_values_the_email_uses(cohort, organizer):
    make_learner(cohort, name="Grace Hopper")
    email = _email(cohort, body="Hello {{ learner.first_name }}")
    scheduling.schedule(email, organizer)
    context = email.message.deliveries.get().context
    # A weekly email ends with the learner's group line (test_group_block); its links are
    # made when it is sent.
    assert set(context) == {"learner.first_name", "group.note"}
    assert "Grace Hopper" not in str(context)


def test_it_refuses_an_email_with_a_template_error(cohort, organizer):
    email = _email(cohort, body="Hi\n{% if module.title %}\nno end")
    with pytest.raises(scheduling.ScheduleError, match="line 2"):
        scheduling.schedule(email, organizer)
    email.refresh_from_db()
    assert email.state == CourseEmail.DRAFT and email.message is None


def test_it_refuses_to_schedule_twice(cohort, organizer):
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    copies = list(Delivery.objects.values_list("pk", "not_before"))
    with pytest.raises(scheduling.ScheduleError, match="already scheduled"):
        scheduling.schedule(email, organizer)
    email.refresh_from_db()
    assert email.state == CourseEmail.SCHEDULED
    assert list(Delivery.objects.values_list("pk", "not_before")) == copies


def test_it_reschedules_the_queued_copies(cohort, organizer):
    _learners(cohort)
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    moved = scheduling.reschedule(email, organizer, Schedule(LOCAL, day=8, time=time(18, 0)))
    assert moved == 5
    times = _times(email)
    assert times["honolulu"] == datetime(2027, 3, 17, 4, 0, tzinfo=UTC)
    assert times["new_york"] == datetime(2027, 3, 16, 22, 0, tzinfo=UTC)
    email.refresh_from_db()
    assert (email.day_offset, email.local_time) == (8, time(18, 0))
    assert AuditEntry.objects.filter(action="email.rescheduled").count() == 1


def test_it_cancels_the_queued_copies(cohort, organizer):
    _learners(cohort)
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    assert scheduling.cancel(email, organizer) == 5
    assert set(email.message.deliveries.values_list("status", flat=True)) == {Delivery.CANCELLED}
    assert email.state == CourseEmail.CANCELLED
    assert AuditEntry.objects.filter(action="email.cancelled").exists()


def test_it_refuses_to_reschedule_once_a_copy_left(cohort, organizer):
    make_learner(cohort, timezone="Pacific/Tongatapu")
    make_learner(cohort, timezone="Pacific/Honolulu")
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    with time_machine.travel(datetime(2027, 3, 14, 21, 0, tzinfo=UTC), tick=False):
        drain()
    assert scheduling.is_locked(email)
    copies = list(Delivery.objects.order_by("pk").values_list("pk", "status", "not_before"))
    with pytest.raises(scheduling.ScheduleError, match="already been sent"):
        scheduling.reschedule(email, organizer, Schedule(RELATIVE, day=9, time=time(9)))
    assert scheduling.refresh_state(email) == CourseEmail.SENDING
    email.refresh_from_db()
    assert (email.schedule, email.day_offset, email.local_time) == (CourseEmail.LOCAL, 7, time(9))
    assert list(Delivery.objects.order_by("pk").values_list("pk", "status", "not_before")) == copies


def test_it_sends_each_copy_when_due_then_marks_the_email_sent(cohort, organizer):
    make_learner(cohort, timezone="Pacific/Honolulu")
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    assert drain() == 0
    with time_machine.travel(datetime(2027, 3, 15, 19, 0, tzinfo=UTC), tick=False):
        assert drain() == 1
    assert scheduling.refresh_state(email) == CourseEmail.SENT


def test_it_replaces_the_copies_of_a_changed_scheduled_email(cohort, organizer):
    make_learner(cohort)
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    old = email.message
    email.subject = "New subject"
    email.save()
    scheduling.replace(email, organizer)
    old.refresh_from_db()
    assert old.state == Message.CANCELLED
    assert email.message.subject == "New subject" and email.message.deliveries.count() == 1


def test_it_sends_a_test_copy_to_the_staff_address(cohort, organizer):
    email = _email(cohort)
    delivery = scheduling.send_test(email, organizer, "olivia@example.org")
    assert delivery.recipient == "olivia@example.org"
    assert delivery.message.subject.startswith("[Test] Week 2")
    assert delivery.context["learner.first_name"] == "Ada"
    assert AuditEntry.objects.filter(action="email.test-sent").exists()


def test_it_adds_a_late_learner_to_emails_still_ahead(cohort, organizer):
    make_learner(cohort)
    ahead, past = _email(cohort), _email(cohort, day_offset=-10, subject="Before the start")
    scheduling.schedule(ahead, organizer)
    scheduling.schedule(past, organizer)
    late = make_learner(cohort, timezone="Asia/Kolkata")
    assert scheduling.add_late_learner(late) == 1
    assert ahead.message.deliveries.filter(ref=str(late.public_id)).exists()
    assert not past.message.deliveries.filter(ref=str(late.public_id)).exists()


def test_it_copies_a_cohort_with_dates_shifted(cohort, organizer):
    _email(cohort)
    _email(cohort, schedule=CourseEmail.AT, send_at=datetime(2027, 3, 10, 9, tzinfo=UTC), day_offset=None)
    later = make_cohort(cohort.course, start=date(2027, 9, 6))
    copies = scheduling.copy_cohort(cohort, later, organizer)
    assert len(copies) == 2
    assert copies[0].day_offset == 7
    assert copies[1].send_at == datetime(2027, 9, 8, 9, tzinfo=UTC)
    assert all(c.state == CourseEmail.DRAFT and c.cohort == later for c in copies)


def test_it_withdraws_the_queued_copies_of_a_learner_who_leaves(cohort, organizer):
    from mmooc.learners.models import Learner
    from mmooc.learners.signals import learner_left

    leaving, staying = make_learner(cohort), make_learner(cohort)
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    learner_left.send(sender=Learner, learner=leaving)
    statuses = dict(email.message.deliveries.values_list("ref", "status"))
    assert statuses == {str(leaving.public_id): Delivery.CANCELLED, str(staying.public_id): Delivery.QUEUED}


def test_it_links_each_course_email_to_its_web_copy(cohort, organizer):
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    assert f"/emails/{email.public_id}/" in email.message.footer
    assert cohort.course.postal_line in email.message.footer


@pytest.mark.parametrize("scope", ["cohort", "site"])
def test_an_unsubscribe_cancels_the_copies_already_queued(cohort, organizer, scope):
    from mmooc.learners import lifecycle
    from mmooc.learners.models import Unsubscribe

    leaving, staying = make_learner(cohort), make_learner(cohort)
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    lifecycle.unsubscribe(leaving, scope, Unsubscribe.ONE_CLICK)
    statuses = dict(email.message.deliveries.values_list("ref", "status"))
    assert statuses == {str(leaving.public_id): Delivery.CANCELLED, str(staying.public_id): Delivery.QUEUED}


def test_each_course_email_says_how_to_check_in_and_takes_replies_as_check_ins(cohort, organizer):
    email = _email(cohort)
    scheduling.schedule(email, organizer)
    assert email.message.reply_to == f"checkin+{cohort.slug}@lists.course.example.org"
    assert "Reply with DONE as the first line" in email.message.footer
