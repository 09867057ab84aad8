"""POST /api/cohorts/<cohort>/signups: the signup API for other sites."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from mmooc.learners.models import Learner
from mmooc.learners.tests.signup_cases import ADA, SignupDoorCases, state

pytestmark = pytest.mark.django_db



def api(cohort):
    return reverse("learners:api_signup", args=[cohort.slug])


class TestSignupDoor(SignupDoorCases):
    accepted = 201

    def sign_up(self, client, cohort, **fields):
        return client.post(api(cohort), json.dumps({**ADA, "language": "en", "group": True, **fields}),
                           content_type="application/json", headers={"Origin": "https://partner.example.org"})


def post_json(client, cohort, **fields):
    data = {"email": "ada@example.org", "name": "Ada", "timezone": "Asia/Kolkata", "language": "en",
            "group": False, "answers": {"level": "new", "tools": ["vim", "emacs"]}}
    data.update(fields)
    return client.post(api(cohort), json.dumps(data), content_type="application/json",
                       headers={"Origin": "https://partner.example.org"})


def test_it_creates_a_pending_learner_from_json(client, cohort):
    response = post_json(client, cohort)
    assert response.status_code == 201
    assert response.json()["status"] == "pending-confirmation"
    learner = Learner.objects.get()
    assert (learner.source, learner.wants_group, learner.country) == ("api", False, "IN")
    assert learner.answers == {"level": "new", "tools": ["vim", "emacs"]}


def test_it_accepts_a_form_post(client, cohort):
    response = client.post(api(cohort), {"email": "bo@example.org", "timezone": "UTC", "group": "true",
                                         "answers": json.dumps({"level": "some"})})
    assert response.status_code == 201
    assert Learner.objects.get().answers == {"level": "some"}


def test_it_answers_a_duplicate_the_same_way(client, cohort):
    first = post_json(client, cohort)
    second = post_json(client, cohort, email="ADA@EXAMPLE.ORG")
    assert (first.status_code, first.json()) == (second.status_code, second.json())
    assert Learner.objects.count() == 1


def test_it_reports_field_errors(client, cohort):
    response = post_json(client, cohort, email="nope", timezone="Nowhere/Land")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"email", "timezone"}
    assert "not a known time zone" in errors["timezone"][0]
    assert not Learner.objects.exists()


def test_it_refuses_unreadable_json(client, cohort, learner):
    before = state()
    response = client.post(api(cohort), "{nope", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"]["__all__"][0]
    assert state() == before


def test_it_refuses_a_json_array(client, cohort, learner):
    before = state()
    assert client.post(api(cohort), "[]", content_type="application/json").status_code == 400
    assert state() == before


def test_it_allows_a_configured_origin(client, cohort):
    response = post_json(client, cohort)
    assert response["Access-Control-Allow-Origin"] == "https://partner.example.org"


def test_it_gives_no_cors_header_to_other_origins(client, cohort):
    response = client.post(api(cohort), json.dumps({"email": "a@example.org", "timezone": "UTC"}),
                           content_type="application/json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response


def test_it_answers_a_preflight(client, cohort):
    response = client.options(api(cohort), headers={"Origin": "https://partner.example.org",
                                                    "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_it_needs_no_csrf_token(cohort):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        api(cohort), json.dumps({"email": "a@example.org", "timezone": "UTC"}), content_type="application/json")
    assert response.status_code == 201


def test_it_gives_404_for_an_unknown_cohort(client, learner):
    before = state()
    response = client.post("/api/cohorts/no-such-cohort/signups", json.dumps(ADA), content_type="application/json")
    assert response.status_code == 404
    assert state() == before


def test_it_refuses_get(client, cohort, learner):
    before = state()
    assert client.get(api(cohort), ADA).status_code == 405
    assert state() == before


def test_it_accepts_answers_as_form_fields(client, cohort):
    response = client.post(api(cohort), {"email": "cy@example.org", "timezone": "UTC", "q_level": "new",
                                         "q_tools": ["vim", "emacs"]})
    assert response.status_code == 201
    assert Learner.objects.get().answers == {"level": "new", "tools": ["vim", "emacs"]}


def test_it_requires_email_and_time_zone(client, cohort, learner):
    before = state()
    response = client.post(api(cohort), "{}", content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "timezone"}
    assert state() == before
