"""A page link older than 30 days still shows the page, but leaving the cohort or deleting
one's data from it sends a fresh link to the learner's own address first: an old email may
be read or forwarded by someone else."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import path_of
from mmooc.mailer.models import Delivery

pytestmark = pytest.mark.django_db

ACTIONS = [("/leave", {}), ("/delete", {"confirm": "yes"})]


def fresh_links_sent(learner) -> int:
    return Delivery.objects.filter(recipient=learner.email, message__tag="magic-link").count()


@pytest.mark.parametrize(("action", "form"), ACTIONS)
def test_an_old_link_changes_nothing_and_sends_a_fresh_one(client, learner, action, form):
    with time_machine.travel(timezone.now() - timedelta(days=31), tick=False):
        old = path_of(links.learner_page_url(learner))
    assert "more than 30 days old" in client.get(old + action).content.decode()
    response = client.post(old + action, form)
    assert response.status_code == 403
    assert "We have sent a fresh link to your address" in response.content.decode()
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED and learner.email
    assert fresh_links_sent(learner) == 1
    # The fresh link acts.
    fresh = path_of(links.learner_page_url(learner))
    assert client.post(fresh + action, form).status_code == 200
    learner.refresh_from_db()
    assert learner.state in (Learner.LEFT, Learner.ERASED)


@pytest.mark.parametrize(("action", "form"), ACTIONS)
def test_a_link_of_29_days_still_acts(client, learner, action, form):
    with time_machine.travel(timezone.now() - timedelta(days=29), tick=False):
        recent = path_of(links.learner_page_url(learner))
    assert "more than 30 days old" not in client.get(recent + action).content.decode()
    assert client.post(recent + action, form).status_code == 200
    learner.refresh_from_db()
    assert learner.state in (Learner.LEFT, Learner.ERASED) and fresh_links_sent(learner) == 0


def test_fresh_links_are_not_sent_without_limit(client, learner):
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        old = path_of(links.learner_page_url(learner))
    for _ in range(20):
        assert client.post(old + "/leave").status_code == 403
    assert 1 <= fresh_links_sent(learner) <= 5
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED
