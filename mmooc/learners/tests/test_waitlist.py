"""POST /<course>/waitlist and GET /w/<token>: be told when the next cohort opens."""

from __future__ import annotations

import pytest

from mmooc.learners.models import WaitlistEntry
from mmooc.learners.tests.helpers import link_in, path_of, received_text
from mmooc.testing import make_cohort

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return make_cohort(open_signup=False).course


def test_it_asks_the_visitor_to_confirm(client, course):
    response = client.post(f"/{course.slug}/waitlist", {"email": "ada@example.org"})
    assert response.status_code == 200 and "confirm" in response.content.decode()
    entry = WaitlistEntry.objects.get()
    assert entry.confirmed_at is None


def test_the_emailed_link_confirms_the_entry(client, course):
    client.post(f"/{course.slug}/waitlist", {"email": "ada@example.org"})
    link = link_in(received_text("ada@example.org", "waitlist"), "w")
    assert client.get(path_of(link)).status_code == 200
    assert WaitlistEntry.objects.get().confirmed_at is not None


def test_it_keeps_one_entry_per_address(client, course):
    client.post(f"/{course.slug}/waitlist", {"email": "ada@example.org"})
    client.post(f"/{course.slug}/waitlist", {"email": "ADA@example.org"})
    assert WaitlistEntry.objects.count() == 1


def test_it_refuses_a_bad_address(client, course):
    assert client.post(f"/{course.slug}/waitlist", {"email": "nope"}).status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_it_stores_nothing_for_a_bot(client, course):
    client.post(f"/{course.slug}/waitlist", {"email": "ada@example.org", "website": "x"})
    assert not WaitlistEntry.objects.exists()


def test_it_refuses_a_tampered_link(client, course):
    client.post(f"/{course.slug}/waitlist", {"email": "ada@example.org"})
    link = link_in(received_text("ada@example.org", "waitlist"), "w")
    assert client.get(path_of(link)[:-1] + "~").status_code == 404
    assert WaitlistEntry.objects.get().confirmed_at is None


def test_it_refuses_get(client, course):
    assert client.get(f"/{course.slug}/waitlist", {"email": "ada@example.org"}).status_code == 405
    assert not WaitlistEntry.objects.exists()
