from __future__ import annotations

import pytest

from mmooc.audit.log import record
from mmooc.audit.models import AuditEntry
from mmooc.dashboard import views


@pytest.fixture
def entries(organizer):
    for i in range(views.AUDIT_PAGE_SIZE + 5):
        record(organizer, "export.downloaded", None, f"Download {i}")
    record(organizer, "member.moved", None, "Moved someone")
    return AuditEntry.objects.all()


def test_it_lists_entries_newest_first_by_pages(client, organizer, entries):
    client.force_login(organizer)
    r = client.get("/dashboard/audit/")
    assert r.status_code == 200
    page = list(r.context["page"])
    assert len(page) == views.AUDIT_PAGE_SIZE and page[0].action == "member.moved"
    r = client.get("/dashboard/audit/?page=2")
    assert len(list(r.context["page"])) == 6


def test_it_filters_by_action(client, organizer, entries):
    client.force_login(organizer)
    r = client.get("/dashboard/audit/?action=member.moved")
    assert [e.summary for e in r.context["page"]] == ["Moved someone"]
    assert r.context["actions"] == ["export.downloaded", "member.moved"]


def test_it_refuses_a_bad_page_number_with_400(client, organizer, entries):
    client.force_login(organizer)
    r = client.get("/dashboard/audit/?page=-3")
    assert r.status_code == 400
    assert b"greater than or equal to 1" in r.content


def test_it_refuses_a_facilitator(client, facilitator, entries):
    client.force_login(facilitator)
    assert client.get("/dashboard/audit/").status_code == 403


def test_it_refuses_an_outsider(client, outsider, db):
    client.force_login(outsider)
    assert client.get("/dashboard/audit/").status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    assert client.get("/dashboard/audit/").status_code == 302


def test_it_refuses_post(client, organizer, db):
    client.force_login(organizer)
    assert client.post("/dashboard/audit/").status_code == 405
