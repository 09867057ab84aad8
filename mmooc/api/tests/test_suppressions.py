from __future__ import annotations

from mmooc.api.tests.conftest import error_code
from mmooc.audit.models import AuditEntry
from mmooc.mailer.models import Suppression


def test_it_adds_lists_and_removes_a_suppression(api):
    resp = api.post("/suppressions", {"address": "Gone@Example.org", "detail": "asked by phone"})
    assert resp.status_code == 201, resp.content
    assert resp.json()["address"] == "gone@example.org" and resp.json()["reason"] == "manual"
    assert [r["address"] for r in api.get("/suppressions").json()["data"]] == ["gone@example.org"]
    assert api.get("/suppressions", {"q": "nobody"}).json()["data"] == []
    resp = api.post("/suppressions/gone@example.org/remove", {"reason": "asked again"})
    assert resp.status_code == 200 and resp.json() == {"removed": True}
    assert not Suppression.objects.exists()
    assert {e.action for e in AuditEntry.objects.all()} == {"suppression.added", "suppression.removed"}


def test_it_pages_the_suppression_list(api):
    for n in range(3):
        Suppression.objects.create(address=f"s{n}@example.org", reason=Suppression.HARD_BOUNCE)
    first = api.get("/suppressions", {"limit": 2}).json()
    assert first["has_more"] and len(first["data"]) == 2
    rest = api.get("/suppressions", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert not rest["has_more"] and [r["address"] for r in rest["data"]] == ["s2@example.org"]


def test_it_refuses_a_bad_address_or_no_reason(api):
    resp = api.post("/suppressions", {"address": "not an address", "detail": "x"})
    assert resp.status_code == 400 and error_code(resp) == "invalid_address"
    resp = api.post("/suppressions", {"address": "a@example.org", "detail": "   "})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "detail"
    resp = api.post("/suppressions", {"address": "a@example.org"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "detail"
    assert not Suppression.objects.exists()


def test_removing_an_address_not_listed_is_not_found(api):
    resp = api.post("/suppressions/nobody@example.org/remove", {"reason": "why not"})
    assert resp.status_code == 404 and error_code(resp) == "suppression_not_found"


def test_an_erased_learners_row_is_listed_without_its_address_and_found_by_the_whole_address(api):
    from mmooc.mailer import suppression

    suppression.suppress("gone@example.org", Suppression.COMPLAINT, "spam")
    suppression.forget(["gone@example.org"])
    assert [r["address"] for r in api.get("/suppressions").json()["data"]] == ["erased learner (hashed)"]
    assert len(api.get("/suppressions", {"q": "Gone@example.org"}).json()["data"]) == 1
    assert api.get("/suppressions", {"q": "gone"}).json()["data"] == []
    resp = api.post("/suppressions", {"address": "gone@example.org", "detail": "asked"})
    assert resp.status_code == 201 and resp.json()["address"] == "erased learner (hashed)"
    assert Suppression.objects.count() == 1
    resp = api.post("/suppressions/gone@example.org/remove", {"reason": "asked to be mailed again"})
    assert resp.status_code == 200 and not Suppression.objects.exists()
