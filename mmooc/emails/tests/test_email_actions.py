from __future__ import annotations

from datetime import date, time

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]



@pytest.fixture
def email(cohort):
    make_learner(cohort)
    return CourseEmail.objects.create(cohort=cohort, subject="Hello", body="Hi {{ learner.first_name }}",
                                      schedule=CourseEmail.LOCAL, day_offset=0, local_time=time(9))


def _url(email, action):
    return f"/dashboard/cohorts/{email.cohort.slug}/emails/{email.public_id}/{action}"


def test_it_schedules(client, organizer, email):
    client.force_login(organizer)
    assert client.post(_url(email, "schedule")).status_code == 302
    email.refresh_from_db()
    assert email.state == CourseEmail.SCHEDULED and email.message.deliveries.count() == 1


def test_it_refuses_to_schedule_a_broken_email(client, organizer, email):
    email.body = "{{ nope }}"
    email.save()
    client.force_login(organizer)
    response = client.post(_url(email, "schedule"))
    assert response.status_code == 400 and "unknown variable nope" in response.content.decode()
    email.refresh_from_db()
    assert email.state == CourseEmail.DRAFT


def test_it_cancels(client, organizer, email):
    scheduling.schedule(email, organizer)
    client.force_login(organizer)
    client.post(_url(email, "cancel"))
    email.refresh_from_db()
    assert email.state == CourseEmail.CANCELLED
    assert email.message.deliveries.get().status == Delivery.CANCELLED


def test_it_sends_a_test_to_the_staff_member(client, organizer, email):
    client.force_login(organizer)
    client.post(_url(email, "test"))
    delivery = Delivery.objects.get(message__tag="course-email-test")
    assert delivery.recipient == organizer.email
    assert AuditEntry.objects.filter(action="email.test-sent").exists()


def test_it_duplicates(client, organizer, email):
    client.force_login(organizer)
    response = client.post(_url(email, "duplicate"))
    copy = CourseEmail.objects.exclude(pk=email.pk).get()
    assert response["Location"].endswith(f"/emails/{copy.public_id}/")
    assert (copy.subject, copy.state, copy.day_offset) == ("Hello", CourseEmail.DRAFT, 0)


def test_it_copies_another_cohort(client, organizer, email):
    later = make_cohort(email.cohort.course, slug="py-2", start=date(2027, 9, 6))
    client.force_login(organizer)
    client.post("/dashboard/cohorts/py-2/emails/copy", {"source": "py-1"})
    assert later.emails.get().subject == "Hello"


def test_it_refuses_a_copy_from_a_cohort_of_another_course(client, organizer, email):
    make_cohort(slug="other")
    client.force_login(organizer)
    assert client.post("/dashboard/cohorts/py-1/emails/copy", {"source": "other"}).status_code == 400
    assert CourseEmail.objects.count() == 1


@pytest.mark.parametrize("action", ["schedule", "cancel", "test", "duplicate"])
def test_it_refuses_facilitators(client, facilitator, email, action):
    client.force_login(facilitator)
    assert client.post(_url(email, action)).status_code == 403
    assert CourseEmail.objects.get().state == CourseEmail.DRAFT and not Delivery.objects.exists()


@pytest.mark.parametrize("action", ["schedule", "cancel", "test", "duplicate"])
def test_it_refuses_get(client, organizer, email, action):
    client.force_login(organizer)
    assert client.get(_url(email, action)).status_code == 405
    assert CourseEmail.objects.get().state == CourseEmail.DRAFT and not Delivery.objects.exists()


def test_it_answers_404_for_an_email_of_another_cohort(client, organizer, email):
    make_cohort(slug="other")
    client.force_login(organizer)
    assert client.post(f"/dashboard/cohorts/other/emails/{email.public_id}/schedule").status_code == 404
    email.refresh_from_db()
    assert email.state == CourseEmail.DRAFT and not Delivery.objects.exists() and not AuditEntry.objects.exists()
