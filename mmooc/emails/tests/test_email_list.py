from __future__ import annotations

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.testing import make_cohort

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort():
    cohort = make_cohort(slug="py-1")
    CourseEmail.objects.create(cohort=cohort, subject="Week one", body="x", key="01-one",
                               module=cohort.course.modules.get(position=1), day_offset=0)
    return cohort


def test_it_lists_the_emails(client, facilitator, cohort):
    client.force_login(facilitator)
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
