from __future__ import annotations

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.testing import facilitating

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def week_one(cohort):
    return CourseEmail.objects.create(cohort=cohort, subject="Week one", body="x", key="01-one",
                                      module=cohort.course.modules.get(position=1), day_offset=0)



def test_it_lists_the_emails(client, facilitator, cohort):
    client.force_login(facilitating(facilitator, cohort))
    response = client.get("/dashboard/cohorts/py-1/emails/")
    assert response.status_code == 200
    assert b"Week one" in response.content and b"01-one.md" in response.content
    assert b"Write an email" not in response.content


def test_it_offers_writing_to_organizers(client, organizer, cohort):
    client.force_login(organizer)
    assert b"Write an email" in client.get("/dashboard/cohorts/py-1/emails/").content


def test_it_refuses_outsiders(client, outsider, cohort):
    client.force_login(outsider)
    assert client.get("/dashboard/cohorts/py-1/emails/").status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, cohort):
    assert client.get("/dashboard/cohorts/py-1/emails/")["Location"].startswith("/dashboard/login/")


def test_it_refuses_post(client, organizer, cohort):
    client.force_login(organizer)
    assert client.post("/dashboard/cohorts/py-1/emails/").status_code == 405


def test_draft_subjects_show_the_course_values_and_mark_the_learner_placeholders(client, facilitator, cohort):
    title = cohort.course.title
    module = cohort.course.modules.get(position=2)
    CourseEmail.objects.create(cohort=cohort, subject="Week {{ module.position }} of {{ course.title }}",
                               body="x", module=module, day_offset=7, key="02-two")
    CourseEmail.objects.create(cohort=cohort, subject="Hi {{ learner.first_name }}, {{ course.title }}", body="x",
                               day_offset=8, key="03-hi")
    CourseEmail.objects.create(cohort=cohort, subject="Broken {{ course.title", body="x", day_offset=9,
                               key="04-broken")
    client.force_login(facilitating(facilitator, cohort))
    page = client.get("/dashboard/cohorts/py-1/emails/").content.decode()
    assert f"Week 2 of {title}" in page
    assert f"Hi ‹first name›, {title}" in page
    assert "Broken {{ course.title" in page  # as written: the compose page says what is wrong
    assert "{{ course.title }}" not in page
