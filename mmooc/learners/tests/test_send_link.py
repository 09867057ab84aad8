"""GET/POST /me/: send me my link."""

from __future__ import annotations

import pytest

from mmooc.learners.tests.helpers import deliveries, link_in, path_of, received_text
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


def test_it_emails_the_page_link(client):
    learner = make_learner(make_cohort(), "ada@example.org")
    response = client.post("/me/", {"email": "ADA@example.org"})
    assert response.status_code == 200
    link = link_in(received_text("ada@example.org", "magic-link"), "me")
    assert client.get(path_of(link)).status_code == 200
    assert deliveries("ada@example.org").get().ref == str(learner.public_id)


def test_it_answers_the_same_for_an_unknown_address(client):
    make_learner(make_cohort(), "ada@example.org")
    known = client.post("/me/", {"email": "ada@example.org"}).content
    unknown = client.post("/me/", {"email": "bob@example.org"}).content
    assert known.replace(b"ada@", b"bob@") == unknown
    assert not deliveries("bob@example.org").exists()


def test_it_refuses_a_malformed_address(client):
    response = client.post("/me/", {"email": "nope"})
    assert response.status_code == 400
    assert not Delivery.objects.exists()


def test_it_limits_requests_per_address(client):
    make_learner(make_cohort(), "ada@example.org")
    for _ in range(8):
        client.post("/me/", {"email": "ada@example.org"})
    assert Delivery.objects.count() == 5


def test_it_refuses_put(client, learner):
    assert client.put("/me/", "email=ada%40example.org").status_code == 405
    assert not Delivery.objects.exists()
