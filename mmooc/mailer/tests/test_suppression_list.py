"""The suppression list page: /dashboard/suppressions/."""

from __future__ import annotations

import pytest

from mmooc.mailer import suppression
from mmooc.mailer.models import Suppression

URL = "/dashboard/suppressions/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def listed():
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE, "550 5.1.1 user unknown")
    suppression.suppress("bob@example.net", Suppression.COMPLAINT, "abuse report")


def test_it_lists_addresses_with_reason_and_detail(client, organizer, listed):
    client.force_login(organizer)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "jane@example.com" in body and "Hard bounce" in body and "550 5.1.1 user unknown" in body


def test_it_searches(client, organizer, listed):
    client.force_login(organizer)
    page = client.get(URL, {"q": "abuse"}).context["page"]
    assert [s.address for s in page] == ["bob@example.net"]


def test_it_refuses_facilitators(client, facilitator, listed):
    """Addresses of every cohort: site-wide organizers only (the role table tests a limited organizer)."""
    client.force_login(facilitator)
    response = client.get(URL)
    assert response.status_code == 403 and b"jane@example.com" not in response.content


def test_it_offers_organizers_the_forms(client, organizer, listed):
    client.force_login(organizer)
    content = client.get(URL).content
    assert b"/dashboard/suppressions/add" in content and b"/dashboard/suppressions/remove" in content


def test_it_refuses_outsiders(client, outsider, listed):
    client.force_login(outsider)
    assert client.get(URL).status_code == 403


def test_it_sends_strangers_to_sign_in(client, listed):
    response = client.get(URL)
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]


def test_it_refuses_post(client, organizer):
    client.force_login(organizer)
    assert client.post(URL).status_code == 405


def test_it_answers_400_to_a_bad_page_number(client, organizer, listed):
    client.force_login(organizer)
    assert client.get(URL, {"page": "zero"}).status_code == 400
