from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from mmooc.api import idempotency
from mmooc.api.models import IdempotentResponse
from mmooc.api.tests.conftest import error_code
from mmooc.learners.models import Learner
from mmooc.mailer.models import Delivery

ANN = {"email": "ann@example.org", "name": "Ann"}


def test_a_repeated_key_replays_the_first_response(api, cohort):
    first = api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k-1"})
    again = api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Learner.objects.count() == 1 and Delivery.objects.count() == 1


def test_without_a_key_a_repeat_is_a_new_request(api, cohort):
    assert api.post(f"/cohorts/{cohort.slug}/learners", ANN).status_code == 201
    resp = api.post(f"/cohorts/{cohort.slug}/learners", ANN)
    assert resp.status_code == 409 and error_code(resp) == "learner_exists"


def test_a_key_reused_for_another_request_is_refused(api, cohort):
    api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k-1"})
    resp = api.post(f"/cohorts/{cohort.slug}/learners", {"email": "bob@example.org"}, **{"Idempotency-Key": "k-1"})
    assert resp.status_code == 422 and error_code(resp) == "idempotency_key_reused"
    assert list(Learner.objects.values_list("email", flat=True)) == ["ann@example.org"]


def test_keys_belong_to_one_token(make_client, cohort):
    first, second = make_client(), make_client()
    assert first.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k"}).status_code == 201
    resp = second.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k"})
    assert resp.status_code == 409 and "Idempotent-Replayed" not in resp


def test_a_refusal_is_replayed_too(api, cohort):
    bad = {"email": "broken"}
    assert api.post(f"/cohorts/{cohort.slug}/learners", bad, **{"Idempotency-Key": "k"}).status_code == 400
    again = api.post(f"/cohorts/{cohort.slug}/learners", bad, **{"Idempotency-Key": "k"})
    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"


def test_a_rate_limited_request_is_not_kept(api, cohort, settings):
    settings.API_RATE = 0
    assert api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k"}).status_code == 429
    settings.API_RATE = 10
    assert api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k"}).status_code == 201


def test_a_key_still_running_answers_conflict(api, cohort):
    IdempotentResponse.objects.create(token=api.token, key="k", fingerprint="x" * 64, status=None)
    resp = api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k"})
    assert resp.status_code in (409, 422)
    assert not Learner.objects.exists()


def test_a_too_long_key_is_refused(api, cohort):
    resp = api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k" * 256})
    assert resp.status_code == 400 and error_code(resp) == "invalid_idempotency_key"
    assert not Learner.objects.exists()


def test_keys_are_forgotten_after_a_day(api, cohort):
    api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k"})
    IdempotentResponse.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency.prune() == 1
    assert not IdempotentResponse.objects.exists()


def test_an_erased_learner_leaves_no_kept_answer(api, cohort):
    created = api.post(f"/cohorts/{cohort.slug}/learners", ANN, **{"Idempotency-Key": "k"}).json()
    api.post(f"/cohorts/{cohort.slug}/learners", {"email": "x"}, **{"Idempotency-Key": "other"})
    api.post(f"/cohorts/{cohort.slug}/learners/{created['id']}/erase")
    assert not IdempotentResponse.objects.filter(body__contains="ann@example.org").exists()
    assert IdempotentResponse.objects.filter(key="other").exists()
