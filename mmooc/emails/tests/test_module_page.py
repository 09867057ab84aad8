from __future__ import annotations

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.testing import facilitating, make_cohort

pytestmark = pytest.mark.django_db


def test_it_shows_the_module_and_its_emails(client, facilitator):
    cohort = make_cohort(slug="py-1")
    CourseEmail.objects.create(cohort=cohort, subject="Week two is here", body="x",
                               module=cohort.course.modules.get(position=2), day_offset=7)
    CourseEmail.objects.create(cohort=cohort, subject="Other week", body="x",
                               module=cohort.course.modules.get(position=1), day_offset=0)
    client.force_login(facilitating(facilitator, cohort))
    response = client.get("/dashboard/cohorts/py-1/modules/2/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Week two is here" in page and "Other week" not in page and "Reading 2" in page


def test_it_shows_a_draft_subject_with_the_course_values(client, facilitator):
    cohort = make_cohort(slug="py-1")
    CourseEmail.objects.create(cohort=cohort, subject="Week {{ module.position }} of {{ course.title }}", body="x",
                               module=cohort.course.modules.get(position=2), day_offset=7)
    client.force_login(facilitating(facilitator, cohort))
    page = client.get("/dashboard/cohorts/py-1/modules/2/").content.decode()
    assert f"Week 2 of {cohort.course.title}" in page and "{{ course.title }}" not in page


def test_it_answers_404_for_a_missing_module(client, organizer):
    make_cohort(slug="py-1")
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/py-1/modules/9/").status_code == 404


def test_it_refuses_outsiders(client, outsider):
    make_cohort(slug="py-1")
    client.force_login(outsider)
    assert client.get("/dashboard/cohorts/py-1/modules/1/").status_code == 403
