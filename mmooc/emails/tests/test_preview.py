from __future__ import annotations

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.testing import facilitating, make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def learners(cohort):
    return [make_learner(cohort, "grace@example.org", name="Grace Hopper"), make_learner(cohort, wants_group=False)]



def _post(client, **fields):
    data = {"subject": "Week {{ module.position }}", "body": "Hi {{ learner.first_name }}: {{ module.title }}",
            "module": "2", "audience": "all", "schedule": "relative", "day": "7", "time": "09:00"}
    data.update(fields)
    return client.post("/dashboard/cohorts/py-1/emails/preview", data)


def test_it_renders_as_a_sample_learner(client, facilitator, cohort):
    client.force_login(facilitating(facilitator, cohort))
    data = _post(client).json()
    assert data["subject"] == "Week 2"
    # A weekly email ends with the learner's group (see test_group_block).
    assert data["html"].startswith("<p>Hi Ada: Week 2</p>\n<hr>\n<p>Your study group is Group 7, 38 people.")
    assert data["count"] == 2 and data["problems"] == []


def test_it_renders_as_a_chosen_learner(client, organizer, cohort):
    client.force_login(organizer)
    assert "Hi Grace" in _post(client, preview_as="Grace@example.org").json()["html"]


def test_it_says_when_the_chosen_learner_is_unknown(client, organizer, cohort):
    client.force_login(organizer)
    assert "No learner" in _post(client, preview_as="nobody@example.org").json()["note"]


def test_it_counts_the_chosen_audience(client, organizer, cohort):
    client.force_login(organizer)
    assert _post(client, audience="wanting-group").json()["count"] == 1


def test_it_lists_template_problems_with_their_line(client, organizer, cohort):
    client.force_login(organizer)
    data = _post(client, body="Hi\n{{ learner.age }}").json()
    assert data["problems"][0].startswith("Body, line 2: unknown variable learner.age")
    assert data["html"] == ""


def test_it_answers_400_with_the_field_errors(client, organizer, cohort):
    client.force_login(organizer)
    response = _post(client, audience="groups", groups="one, two")
    assert response.status_code == 400
    assert "group numbers" in response.json()["errors"]["audience"][0]
    assert not CourseEmail.objects.exists()


def test_it_saves_nothing(client, organizer, cohort):
    client.force_login(organizer)
    _post(client)
    assert not CourseEmail.objects.exists()


def test_it_refuses_get(client, organizer, cohort):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/py-1/emails/preview").status_code == 405


def test_it_refuses_outsiders(client, outsider, cohort):
    client.force_login(outsider)
    assert _post(client).status_code == 403


def test_it_says_when_copies_leave_as_every_staff_page_writes_an_instant(client, organizer, cohort):
    import re

    client.force_login(organizer)
    timing = _post(client).json()["timing"]
    assert re.match(r"Sent \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", timing), timing
