"""Adding an address by hand: POST /dashboard/suppressions/add."""

from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.mailer import suppression
from mmooc.mailer.models import Suppression

URL = "/dashboard/suppressions/add"
pytestmark = pytest.mark.django_db


def test_it_adds_an_address_with_the_reason(client, organizer):
    client.force_login(organizer)
    response = client.post(URL, {"address": "Jane@Example.com", "detail": "Asked us by phone"})
    assert response.status_code == 302
    row = Suppression.objects.get()
    assert (row.address, row.reason, row.detail) == ("jane@example.com", "manual", "Asked us by phone")


def test_it_records_the_addition(client, organizer):
    client.force_login(organizer)
    client.post(URL, {"address": "jane@example.com", "detail": "Asked us by phone"})
    assert AuditEntry.objects.get().action == "suppression.added"


def test_it_requires_a_reason(client, organizer):
    client.force_login(organizer)
    response = client.post(URL, {"address": "jane@example.com", "detail": "  "})
    assert response.status_code == 400
    assert b"Say why this address must not be mailed" in response.content
    assert not Suppression.objects.exists()


def test_it_refuses_an_unusable_address(client, organizer):
    client.force_login(organizer)
    response = client.post(URL, {"address": "jane@@example", "detail": "typo"})
    assert response.status_code == 400
    assert b"is not a usable email address" in response.content
    assert not Suppression.objects.exists() and not AuditEntry.objects.exists()


def test_it_says_when_the_address_is_already_listed(client, organizer):
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE)
    client.force_login(organizer)
    response = client.post(URL, {"address": "jane@example.com", "detail": "again"})
    assert response.status_code == 400 and b"already on the suppression list" in response.content
    assert Suppression.objects.get().reason == Suppression.HARD_BOUNCE


def test_it_refuses_facilitators(client, facilitator):
    client.force_login(facilitator)
    assert client.post(URL, {"address": "jane@example.com", "detail": "x"}).status_code == 403
    assert not Suppression.objects.exists()


def test_it_refuses_outsiders(client, outsider):
    client.force_login(outsider)
    assert client.post(URL, {"address": "jane@example.com", "detail": "x"}).status_code == 403
    assert not Suppression.objects.exists()


def test_it_refuses_get(client, organizer):
    client.force_login(organizer)
    assert client.get(URL, {"address": "jane@example.com", "reason": "complaint"}).status_code == 405
    assert not Suppression.objects.exists() and not AuditEntry.objects.exists()
