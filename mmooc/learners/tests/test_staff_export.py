"""GET /dashboard/cohorts/<slug>/learners/export.csv|json."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort():
    cohort = make_cohort()
    make_learner(cohort, "ada@example.org", name="Ada, \"the\" Countess", answers={"why": "ünïcode"})
    make_learner(cohort, "bo@example.org")
    make_learner(make_cohort(), "other@example.org")
    return cohort


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_it_streams_a_csv(client, organizer, cohort):
    client.force_login(organizer)
    response = client.get(f"/dashboard/cohorts/{cohort.slug}/learners/export.csv")
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [r["email"] for r in rows] == ["ada@example.org", "bo@example.org"]
    assert rows[0]["name"] == 'Ada, "the" Countess' and json.loads(rows[0]["answers"]) == {"why": "ünïcode"}


def test_it_streams_json(client, organizer, cohort):
    client.force_login(organizer)
    response = client.get(f"/dashboard/cohorts/{cohort.slug}/learners/export.json")
    data = json.loads(body(response))
    assert [r["email"] for r in data] == ["ada@example.org", "bo@example.org"]
    assert data[0]["answers"] == {"why": "ünïcode"}


def test_it_records_the_export(client, organizer, cohort):
    client.force_login(organizer)
    client.get(f"/dashboard/cohorts/{cohort.slug}/learners/export.csv")
    assert AuditEntry.objects.filter(action="learners.exported").count() == 1


def test_it_is_for_organizers_only(client, facilitator, cohort):
    client.force_login(facilitator)
    assert client.get(f"/dashboard/cohorts/{cohort.slug}/learners/export.csv").status_code == 403


def test_it_refuses_an_unknown_format(client, organizer, cohort):
    client.force_login(organizer)
    assert client.get(f"/dashboard/cohorts/{cohort.slug}/learners/export.xml").status_code == 404


def test_it_refuses_post(client, organizer, cohort):
    client.force_login(organizer)
    assert client.post(f"/dashboard/cohorts/{cohort.slug}/learners/export.csv").status_code == 405
