"""Removing an address: POST /dashboard/suppressions/remove."""

from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.mailer import suppression
from mmooc.mailer.models import Suppression

URL = "/dashboard/suppressions/remove"
pytestmark = pytest.mark.django_db


@pytest.fixture
def listed():
    return suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE, "550 5.1.1")


def test_it_removes_the_address_and_records_why(client, organizer, listed):
    client.force_login(organizer)
    response = client.post(URL, {"address": "jane@example.com", "reason": "She fixed her mailbox"})
    assert response.status_code == 302
    assert not Suppression.objects.exists()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["reason"], entry.actor) == (
        "suppression.removed", "She fixed her mailbox", organizer)


def test_it_requires_a_reason(client, organizer, listed):
    client.force_login(organizer)
    response = client.post(URL, {"address": "jane@example.com", "reason": ""})
    assert response.status_code == 400 and b"Say why this address may be mailed again" in response.content
    assert Suppression.objects.exists() and not AuditEntry.objects.exists()


def test_it_says_when_the_address_is_not_listed(client, organizer, listed):
    client.force_login(organizer)
    response = client.post(URL, {"address": "bob@example.net", "reason": "typo"})
    assert response.status_code == 400 and b"not on the suppression list" in response.content
    assert list(Suppression.objects.values_list("address", flat=True)) == ["jane@example.com"]
    assert not AuditEntry.objects.exists()


def test_it_refuses_facilitators(client, facilitator, listed):
    client.force_login(facilitator)
    assert client.post(URL, {"address": "jane@example.com", "reason": "x"}).status_code == 403
    assert Suppression.objects.exists()


def test_it_refuses_outsiders(client, outsider, listed):
    client.force_login(outsider)
    assert client.post(URL, {"address": "jane@example.com", "reason": "x"}).status_code == 403
    assert Suppression.objects.exists()


def test_it_refuses_get(client, organizer, listed):
    client.force_login(organizer)
    assert client.get(URL, {"address": "jane@example.com", "reason": "fixed"}).status_code == 405
    assert Suppression.objects.filter(address="jane@example.com").exists() and not AuditEntry.objects.exists()
