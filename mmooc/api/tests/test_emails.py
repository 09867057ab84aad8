from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.api.models import ApiToken
from mmooc.api.tests.conftest import error_code
from mmooc.audit.models import AuditEntry
from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery, Message

LATER = {"kind": "local", "day": 3, "time": "09:00"}
NEW = {"subject": "Week {{ module.position }}", "body": "Hello {{ learner.first_name }}!", "module": 1,
       "schedule": LATER}


@pytest.fixture
def learners(cohort):
    return [testing.make_learner(cohort, timezone="Europe/Paris"), testing.make_learner(cohort, timezone="UTC")]


def _create(api, cohort, **changes):
    resp = api.post(f"/cohorts/{cohort.slug}/emails", {**NEW, **changes})
    assert resp.status_code == 201, resp.content
    return resp.json()


def test_it_creates_a_draft(api, cohort):
    body = _create(api, cohort)
    email = CourseEmail.objects.get(public_id=body["id"])
    assert email.state == CourseEmail.DRAFT and email.module.position == 1
    assert email.created_by.username == "olivia"
    assert body["schedule"] == {**LATER, "at": None} and body["audience"] == {"kind": "all"} and body["sending"] is None
    assert AuditEntry.objects.filter(action="email.created").count() == 1


@pytest.mark.parametrize("changes,param", [
    ({"subject": "two\nlines"}, "subject"), ({"schedule": {"kind": "local"}}, "schedule"),
    ({"schedule": {"kind": "at", "at": "tomorrow"}}, "schedule.at"), ({"module": 99}, "module"),
    ({"audience": {"kind": "groups", "groups": []}}, "audience"), ({"body": ""}, "body"),
    ({"audience": {"kind": "everyone"}}, "audience.kind")])
def test_it_refuses_a_bad_email_and_saves_nothing(api, cohort, changes, param):
    resp = api.post(f"/cohorts/{cohort.slug}/emails", {**NEW, **changes})
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["param"] == param
    assert not CourseEmail.objects.exists()


def test_it_lists_and_gets_emails(api, cohort):
    made = _create(api, cohort)
    assert [e["id"] for e in api.get(f"/cohorts/{cohort.slug}/emails").json()] == [made["id"]]
    assert api.get(f"/cohorts/{cohort.slug}/emails/{made['id']}").json()["subject"] == NEW["subject"]
    resp = api.get(f"/cohorts/{cohort.slug}/emails/00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 404 and error_code(resp) == "email_not_found"


def test_it_changes_a_draft(api, cohort):
    made = _create(api, cohort)
    resp = api.patch(f"/cohorts/{cohort.slug}/emails/{made['id']}", {"subject": "New subject"})
    assert resp.status_code == 200, resp.content
    email = CourseEmail.objects.get()
    assert email.subject == "New subject" and email.body.startswith("Hello") and email.day_offset == 3


def test_it_schedules_and_follows_progress(api, cohort, learners):
    made = _create(api, cohort)
    resp = api.post(f"/cohorts/{cohort.slug}/emails/{made['id']}/schedule")
    assert resp.status_code == 200, resp.content
    assert resp.json()["recipients"] == 2 and resp.json()["email"]["state"] == "scheduled"
    assert Delivery.objects.count() == 2
    progress = api.get(f"/cohorts/{cohort.slug}/emails/{made['id']}/progress").json()
    assert progress["total"] == 2 and progress["state"] == "active" and not progress["finished"]
    assert AuditEntry.objects.filter(action="email.scheduled").exists()


def test_a_scheduled_email_no_longer_changes_here(api, cohort, learners):
    made = _create(api, cohort)
    api.post(f"/cohorts/{cohort.slug}/emails/{made['id']}/schedule")
    resp = api.patch(f"/cohorts/{cohort.slug}/emails/{made['id']}", {"subject": "Changed"})
    assert resp.status_code == 409 and error_code(resp) == "email_not_draft"
    assert CourseEmail.objects.get().subject == NEW["subject"]


def test_an_incomplete_email_is_not_scheduled(api, cohort, learners):
    made = _create(api, cohort, body="Hello {{ learner.nickname }}")
    resp = api.post(f"/cohorts/{cohort.slug}/emails/{made['id']}/schedule")
    assert resp.status_code == 409 and error_code(resp) == "email_not_schedulable"
    assert not Delivery.objects.exists()
    assert CourseEmail.objects.get().state == CourseEmail.DRAFT


def test_it_pauses_resumes_and_cancels(api, cohort, learners):
    made = _create(api, cohort)
    path = f"/cohorts/{cohort.slug}/emails/{made['id']}"
    resp = api.post(path + "/resume")
    assert resp.status_code == 409 and error_code(resp) == "email_not_paused"
    api.post(path + "/schedule")
    assert api.post(path + "/pause").json()["sending"] == Message.PAUSED
    assert api.post(path + "/pause").status_code == 409
    assert api.post(path + "/resume").json()["sending"] == Message.ACTIVE
    resp = api.post(path + "/cancel")
    assert resp.status_code == 200 and resp.json()["state"] == CourseEmail.CANCELLED
    assert {a.action for a in AuditEntry.objects.all()} >= {"email.paused", "email.resumed", "email.cancelled"}


def test_pausing_an_unscheduled_email_is_refused(api, cohort):
    made = _create(api, cohort)
    resp = api.post(f"/cohorts/{cohort.slug}/emails/{made['id']}/pause")
    assert resp.status_code == 409 and error_code(resp) == "email_not_sending"


def test_a_read_only_token_reads_progress_but_does_not_schedule(api, make_client, cohort, learners):
    made = _create(api, cohort)
    reader = make_client(scope=ApiToken.READ)
    assert reader.get(f"/cohorts/{cohort.slug}/emails/{made['id']}/progress").status_code == 200
    resp = reader.post(f"/cohorts/{cohort.slug}/emails/{made['id']}/schedule")
    assert resp.status_code == 403 and not Delivery.objects.exists()
