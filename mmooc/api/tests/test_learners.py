from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.api.tests.conftest import error_code
from mmooc.audit.models import AuditEntry
from mmooc.learners.models import Learner
from mmooc.mailer.models import Delivery

pytestmark = pytest.mark.cohort(course={"questions": [{"id": "level", "label": "Your level", "type": "single",
                                                        "choices": ["new", "some"]}]})


def test_it_lists_learners_with_cursor_paging(api, cohort):
    made = [testing.make_learner(cohort) for _ in range(5)]
    seen, cursor, pages = [], "", 0
    while True:
        body = api.get(f"/cohorts/{cohort.slug}/learners", {"limit": 2, "cursor": cursor}).json()
        seen += [row["id"] for row in body["data"]]
        pages += 1
        if not body["has_more"]:
            assert body["next_cursor"] is None
            break
        cursor = body["next_cursor"]
    assert pages == 3
    assert seen == [str(m.public_id) for m in made]


def test_it_filters_learners_as_the_dashboard_does(api, cohort):
    testing.make_learner(cohort, "ann@example.org", name="Ann")
    testing.make_learner(cohort, "bob@example.org", state=Learner.PENDING)
    rows = api.get(f"/cohorts/{cohort.slug}/learners", {"state": "pending"}).json()["data"]
    assert [r["email"] for r in rows] == ["bob@example.org"]
    rows = api.get(f"/cohorts/{cohort.slug}/learners", {"q": "ann"}).json()["data"]
    assert [r["name"] for r in rows] == ["Ann"]


@pytest.mark.parametrize("params,code", [({"cursor": "forged"}, "invalid_cursor"), ({"limit": 0}, "invalid_limit"),
                                         ({"limit": 5000}, "invalid_limit"), ({"state": "happy"}, "invalid_state"),
                                         ({"limit": "ten"}, "invalid_parameter")])
def test_it_refuses_bad_list_parameters(api, cohort, params, code):
    resp = api.get(f"/cohorts/{cohort.slug}/learners", params)
    assert resp.status_code == 400 and error_code(resp) == code


def test_it_gets_one_learner(api, cohort):
    learner = testing.make_learner(cohort, "ann@example.org")
    body = api.get(f"/cohorts/{cohort.slug}/learners/{learner.public_id}").json()
    assert body["email"] == "ann@example.org" and body["state"] == "confirmed" and body["cohort"] == cohort.slug
    resp = api.get(f"/cohorts/{cohort.slug}/learners/not-a-uuid")
    assert resp.status_code == 404 and error_code(resp) == "learner_not_found"


def test_it_adds_a_consenting_learner_confirmed(api, cohort):
    resp = api.post(f"/cohorts/{cohort.slug}/learners",
                    {"email": "Ann@Example.org", "name": "Ann Lee", "timezone": "Europe/Paris",
                     "answers": {"level": "new"}, "consented": True})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    learner = Learner.objects.get(public_id=body["id"])
    assert learner.state == Learner.CONFIRMED and learner.timezone == "Europe/Paris"
    assert learner.answers == {"level": "new"} and learner.source == Learner.SIGNUP_IMPORT
    entry = AuditEntry.objects.get(action="learners.imported")
    assert entry.actor.username == "olivia" and entry.details["via"] == "api"


def test_a_learner_added_without_consent_gets_a_confirmation_email(api, cohort):
    resp = api.post(f"/cohorts/{cohort.slug}/learners", {"email": "ann@example.org"})
    assert resp.status_code == 201
    assert Learner.objects.get().state == Learner.PENDING
    assert Delivery.objects.filter(recipient="ann@example.org").count() == 1


def test_it_refuses_an_address_already_in_the_cohort(api, cohort):
    testing.make_learner(cohort, "ann@example.org", name="Ann")
    resp = api.post(f"/cohorts/{cohort.slug}/learners", {"email": "ann@example.org", "name": "Other"})
    assert resp.status_code == 409 and error_code(resp) == "learner_exists"
    assert Learner.objects.get().name == "Ann"


@pytest.mark.parametrize("data,param", [
    ({"email": "not an address"}, "learners"), ({"email": "a@example.org", "timezone": "Mars/Base"}, "learners"),
    ({"email": "a@example.org", "answers": {"level": "expert"}}, "learners"), ({"name": "x"}, "email"),
    ({"email": "a@example.org", "answers": {"shoe_size": "42"}}, "learners"),
    ({"email": "a@example.org", "wants_group": "perhaps"}, "wants_group")])
def test_it_refuses_a_bad_learner_and_adds_nothing(api, cohort, data, param):
    resp = api.post(f"/cohorts/{cohort.slug}/learners", data)
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["param"] == param
    assert not Learner.objects.exists() and not Delivery.objects.exists()


def test_it_imports_many_all_or_nothing(api, cohort):
    testing.make_learner(cohort, "old@example.org")
    rows = [{"email": f"l{i}@example.org", "name": f"L {i}"} for i in range(30)] + [{"email": "old@example.org"}]
    resp = api.post(f"/cohorts/{cohort.slug}/learners/import", {"learners": rows, "consented": True})
    assert resp.status_code == 200, resp.content
    assert resp.json() == {"imported": 30, "already": 1}
    assert Learner.objects.filter(cohort=cohort, state=Learner.CONFIRMED).count() == 31


def test_an_import_with_one_bad_row_imports_nothing(api, cohort):
    rows = [{"email": "a@example.org"}, {"email": "b@example.org"}, {"email": "broken"}]
    resp = api.post(f"/cohorts/{cohort.slug}/learners/import", {"learners": rows})
    assert resp.status_code == 400 and error_code(resp) == "invalid_learners"
    assert "learners[2]:" in resp.json()["error"]["message"]
    assert not Learner.objects.exists()


def test_an_import_with_a_repeated_address_imports_nothing(api, cohort):
    rows = [{"email": "a@example.org"}, {"email": "A@example.org"}]
    resp = api.post(f"/cohorts/{cohort.slug}/learners/import", {"learners": rows})
    assert resp.status_code == 400
    assert not Learner.objects.exists()


def test_an_empty_import_is_refused(api, cohort):
    resp = api.post(f"/cohorts/{cohort.slug}/learners/import", {"learners": []})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "learners"


def test_it_confirms_a_pending_learner(api, cohort):
    learner = testing.make_learner(cohort, state=Learner.PENDING)
    resp = api.post(f"/cohorts/{cohort.slug}/learners/{learner.public_id}/confirm")
    assert resp.status_code == 200 and resp.json()["state"] == "confirmed"
    assert learner.events.filter(kind="confirmed", via="staff").exists()
    assert AuditEntry.objects.filter(action="learner.confirmed").count() == 1


def test_it_does_not_bring_back_a_learner_who_left(api, cohort):
    learner = testing.make_learner(cohort)
    assert api.post(f"/cohorts/{cohort.slug}/learners/{learner.public_id}/leave").json()["state"] == "left"
    resp = api.post(f"/cohorts/{cohort.slug}/learners/{learner.public_id}/confirm")
    assert resp.status_code == 409 and error_code(resp) == "learner_state_refused"
    learner.refresh_from_db()
    assert learner.state == Learner.LEFT


def test_it_erases_a_learner(api, cohort):
    learner = testing.make_learner(cohort, "ann@example.org", name="Ann")
    resp = api.post(f"/cohorts/{cohort.slug}/learners/{learner.public_id}/erase")
    assert resp.status_code == 200
    learner.refresh_from_db()
    assert learner.state == Learner.ERASED and "ann" not in learner.email and learner.name == ""
    entry = AuditEntry.objects.get(action="learner.erased")
    assert "ann" not in entry.summary.lower()
    # Again: nothing more changes, nothing more is recorded.
    assert api.post(f"/cohorts/{cohort.slug}/learners/{learner.public_id}/erase").status_code == 200
    assert AuditEntry.objects.filter(action="learner.erased").count() == 1


def test_a_learner_of_another_cohort_is_not_found(api, cohort):
    learner = testing.make_learner(testing.make_cohort())
    resp = api.post(f"/cohorts/{cohort.slug}/learners/{learner.public_id}/leave")
    assert resp.status_code == 404 and error_code(resp) == "learner_not_found"
