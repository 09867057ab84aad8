"""Malformed, hostile and oversized requests: a clear JSON error, and nothing changed."""

from __future__ import annotations

import json

import pytest

from mmooc.api.tests.conftest import error_code
from mmooc.learners.models import Learner


@pytest.mark.parametrize("raw", [b"{", b"", b"\xff\xfe", b"null", b"[]", b'"a string"', b"42",
                                 b'{"email": "a@example.org"', b"NaN", b"{'email': 'a@example.org'}"])
def test_a_body_that_is_no_json_object_is_refused(api, cohort, raw):
    resp = api.post(f"/cohorts/{cohort.slug}/learners", raw=raw)
    assert resp.status_code == 400, resp.content
    assert error_code(resp) in ("invalid_json", "invalid_parameter")
    assert not Learner.objects.exists()


@pytest.mark.parametrize("data", [
    {"email": ["a@example.org"]}, {"email": {"$ne": None}}, {"email": "a@example.org", "answers": "level=new"},
    {"email": "a@example.org", "answers": {"level": {"nested": True}}}, {"email": "a@example.org\r\nBcc: x@y.org"},
    {"email": "a@example.org", "name": "x" * 5000}, {"email": "a@" + "b" * 400 + ".org"},
    {"email": "a@example.org", "consented": "yes please"}])
def test_hostile_fields_are_refused(api, cohort, data):
    resp = api.post(f"/cohorts/{cohort.slug}/learners", data)
    assert resp.status_code == 400, resp.content
    assert error_code(resp)
    assert not Learner.objects.exists()


def test_deeply_nested_json_is_refused_cleanly(api, cohort):
    raw = "[" * 100_000 + "]" * 100_000
    resp = api.post(f"/cohorts/{cohort.slug}/learners", raw=raw)
    assert resp.status_code == 400 and error_code(resp) == "invalid_json"
    assert not Learner.objects.exists()


def test_an_oversized_body_is_refused_in_json(api, cohort, settings):
    rows = [{"email": f"l{i}@example.org", "name": "x" * 100} for i in range(60_000)]
    raw = json.dumps({"learners": rows})
    assert len(raw) > settings.REQUEST_MAX_BYTES
    resp = api.post(f"/cohorts/{cohort.slug}/learners/import", raw=raw)
    assert resp.status_code == 413 and error_code(resp) == "body_too_large"
    assert not Learner.objects.exists()


def test_too_many_rows_in_one_import_are_refused(api, cohort):
    rows = [{"email": f"l{i}@example.org"} for i in range(10_001)]
    resp = api.post(f"/cohorts/{cohort.slug}/learners/import", {"learners": rows})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "learners"
    assert not Learner.objects.exists()


def test_a_wrong_method_is_refused_in_json(api, cohort):
    resp = api.client.delete(f"/api/v1/cohorts/{cohort.slug}", headers={"Authorization": f"Bearer {api.secret}"})
    assert resp.status_code == 405 and error_code(resp) == "method_not_allowed"


def test_an_unknown_cohort_is_not_found(api, cohort):
    resp = api.get("/cohorts/nope/learners")
    assert resp.status_code == 404 and error_code(resp) == "cohort_not_found"


def test_a_session_cookie_is_no_token(client, organizer, cohort):
    client.force_login(organizer)
    resp = client.get("/api/v1/cohorts")
    assert resp.status_code == 401 and error_code(resp) == "token_missing"
