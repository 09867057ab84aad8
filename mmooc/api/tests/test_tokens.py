from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.api.models import ApiToken, digest
from mmooc.api.tests.conftest import ApiClient, error_code
from mmooc.audit.models import AuditEntry
from mmooc.learners.models import Learner


def test_it_stores_only_the_hash_of_a_token(make_client):
    api = make_client()
    token = ApiToken.objects.get()
    assert api.secret.startswith("mmooc_") and len(api.secret) > 40
    assert token.digest == digest(api.secret) and api.secret not in token.digest
    assert token.hint == api.secret[:12]
    assert api.secret not in repr(ApiToken.objects.values().get())


def test_it_answers_a_valid_token(api, cohort):
    resp = api.get("/cohorts")
    assert resp.status_code == 200
    assert [c["slug"] for c in resp.json()] == [cohort.slug]
    api.token.refresh_from_db()
    assert api.token.last_used_at is not None


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Token mmooc_x"])
def test_it_refuses_a_missing_or_wrong_token(client, cohort, header):
    resp = client.get("/api/v1/cohorts", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert error_code(resp) in ("token_missing", "token_invalid")


def test_it_refuses_a_revoked_token(api, cohort):
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    resp = api.get("/cohorts")
    assert resp.status_code == 401 and error_code(resp) == "token_revoked"


def test_a_read_only_token_cannot_write(make_client, cohort):
    api = make_client(scope=ApiToken.READ)
    assert api.get(f"/cohorts/{cohort.slug}/learners").status_code == 200
    resp = api.post(f"/cohorts/{cohort.slug}/learners", {"email": "ro@example.org", "consented": True})
    assert resp.status_code == 403 and error_code(resp) == "token_read_only"
    assert not Learner.objects.exists()


def test_a_cohort_token_sees_no_other_cohort(make_client, cohort):
    other = testing.make_cohort()
    learner = testing.make_learner(other)
    api = make_client(cohort=cohort)
    assert [c["slug"] for c in api.get("/cohorts").json()] == [cohort.slug]
    assert api.get(f"/cohorts/{other.slug}").status_code == 404
    resp = api.get(f"/cohorts/{other.slug}/learners/{learner.public_id}")
    assert resp.status_code == 404 and error_code(resp) == "cohort_not_found"
    resp = api.post(f"/cohorts/{other.slug}/learners/{learner.public_id}/leave")
    assert resp.status_code == 404
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED
    assert api.get(f"/courses/{other.course.slug}").status_code == 404


def test_a_cohort_token_may_not_touch_the_suppression_list(make_client, cohort):
    api = make_client(cohort=cohort)
    resp = api.get("/suppressions")
    assert resp.status_code == 403 and error_code(resp) == "token_cohort_scoped"


def test_it_limits_the_rate_per_token(api, cohort, settings):
    settings.API_RATE = 3
    assert [api.get("/cohorts").status_code for _ in range(3)] == [200, 200, 200]
    resp = api.get("/cohorts")
    assert resp.status_code == 429 and error_code(resp) == "rate_limited"
    assert int(resp["Retry-After"]) >= 1


def test_another_token_has_its_own_rate(make_client, cohort, settings):
    settings.API_RATE = 1
    first, second = make_client(), make_client()
    assert first.get("/cohorts").status_code == 200
    assert first.get("/cohorts").status_code == 429
    assert second.get("/cohorts").status_code == 200


# The dashboard page ------------------------------------------------------------------------


def test_an_organizer_creates_a_token_shown_once(client, organizer, cohort):
    client.force_login(organizer)
    resp = client.post("/dashboard/api/tokens/", {"name": "CRM", "scope": "write", "cohort": cohort.pk})
    assert resp.status_code == 200
    token = ApiToken.objects.get()
    secret = resp.context["secret"]
    assert token.digest == digest(secret) and token.cohort == cohort and token.created_by == organizer
    assert secret in resp.content.decode()
    assert "no-cache" in resp["Cache-Control"] or "no-store" in resp["Cache-Control"]
    assert secret not in client.get("/dashboard/api/tokens/").content.decode()
    assert AuditEntry.objects.filter(action="api.token_created").exists()
    assert ApiClient(secret).get(f"/cohorts/{cohort.slug}").status_code == 200


def test_an_organizer_revokes_a_token(client, organizer, make_client, cohort):
    api = make_client()
    client.force_login(organizer)
    resp = client.post(f"/dashboard/api/tokens/{api.token.pk}/revoke")
    assert resp.status_code == 302
    assert api.get("/cohorts").status_code == 401
    assert AuditEntry.objects.filter(action="api.token_revoked").count() == 1


def test_a_token_needs_a_name(client, organizer):
    client.force_login(organizer)
    resp = client.post("/dashboard/api/tokens/", {"name": "  ", "scope": "read"})
    assert resp.status_code == 400
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("who", ["facilitator", "outsider"])
def test_only_organizers_manage_tokens(client, request, who, make_client):
    api = make_client()
    client.force_login(request.getfixturevalue(who))
    assert client.get("/dashboard/api/tokens/").status_code == 403
    assert client.post("/dashboard/api/tokens/", {"name": "x", "scope": "write"}).status_code == 403
    assert client.post(f"/dashboard/api/tokens/{api.token.pk}/revoke").status_code == 403
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked_at is None


def test_the_token_page_wants_a_sign_in(client):
    assert client.get("/dashboard/api/tokens/").status_code == 302


def test_revoke_is_post_only(client, organizer, make_client):
    api = make_client()
    client.force_login(organizer)
    assert client.get(f"/dashboard/api/tokens/{api.token.pk}/revoke").status_code == 405
