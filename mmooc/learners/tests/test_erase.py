"""GET/POST /me/<token>/delete: delete my data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mmooc.learners import lifecycle, links
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import path_of
from mmooc.mailer import outbox

pytestmark = pytest.mark.django_db



def erase_path(learner):
    return path_of(links.learner_page_url(learner)) + "/delete"


def test_it_asks_first(client, learner):
    response = client.get(erase_path(learner))
    assert response.status_code == 200 and "cannot be undone" in response.content.decode()
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED


def test_it_erases_the_person_and_keeps_an_anonymous_row(client, learner):
    assert client.post(erase_path(learner), {"confirm": "yes"}).status_code == 200
    learner.refresh_from_db()
    assert learner.state == Learner.ERASED
    assert "ada@example.org" not in learner.email and learner.name == "" and learner.answers == {}
    assert Learner.objects.filter(cohort=learner.cohort).count() == 1


def test_it_forgets_the_address_in_the_outbox(client, learner):
    outbox.send(to=learner.email, subject="Hi", body="Hello", ref=str(learner.public_id))
    client.post(erase_path(learner), {"confirm": "yes"})
    from mmooc.mailer.models import Delivery

    delivery = Delivery.objects.get()
    assert "ada@example.org" not in delivery.recipient and delivery.recipient.endswith("@erased.invalid")


def test_it_needs_the_box_ticked(client, learner):
    response = client.post(erase_path(learner))
    assert response.status_code == 400 and "Tick the box" in response.content.decode()
    learner.refresh_from_db()
    assert learner.email == "ada@example.org"


def test_its_links_stop_working_afterwards(client, learner):
    path = erase_path(learner)
    client.post(path, {"confirm": "yes"})
    assert client.get(path).status_code == 404
    assert client.post(path, {"confirm": "yes"}).status_code == 404
    learner.refresh_from_db()
    assert learner.state == Learner.ERASED and Learner.objects.count() == 1


def test_it_refuses_a_tampered_link(client, learner):
    assert client.post(erase_path(learner).replace("/me/", "/me/z"), {"confirm": "yes"}).status_code == 404
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED


def test_erasing_counts_as_leaving_at_that_moment(learner):
    moment = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
    lifecycle.erase(learner, now=moment)
    learner.refresh_from_db()
    assert (learner.state, learner.left_at) == (Learner.ERASED, moment)


def test_erasing_keeps_when_the_learner_left(learner):
    left, erased = datetime(2027, 1, 5, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    lifecycle.leave(learner, now=left)
    lifecycle.erase(learner, now=erased)
    learner.refresh_from_db()
    assert learner.left_at == left
