"""/me/<token>/leave and /me/<token>/rejoin: a GET shows one button, its POST acts."""

from __future__ import annotations

import re

import pytest

from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.learners.signals import learner_left
from mmooc.learners.tests.helpers import path_of

pytestmark = pytest.mark.django_db



def leave_path(learner):
    return path_of(links.learner_page_url(learner)) + "/leave"


def test_it_lets_the_learner_leave(client, learner):
    assert client.post(leave_path(learner)).status_code == 200
    learner.refresh_from_db()
    assert learner.state == Learner.LEFT and learner.left_at is not None


def test_it_sends_learner_left_once(client, learner, django_capture_on_commit_callbacks):
    seen = []
    learner_left.connect(lambda sender, learner, **kw: seen.append(learner.pk), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(leave_path(learner))
            client.post(leave_path(learner))
    finally:
        learner_left.disconnect(dispatch_uid="t")
    assert seen == [learner.pk]


def test_opening_the_link_shows_one_button_and_changes_nothing(client, learner):
    response = client.get(leave_path(learner))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("<button") == 1 and "Leave the cohort" in content and 'method="post"' in content
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED


def test_it_refuses_a_tampered_link(client, learner):
    response = client.post(leave_path(learner).replace("/me/", "/me/x"))
    assert response.status_code == 404
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED


def rejoin_path(learner):
    return path_of(links.learner_page_url(learner)) + "/rejoin"


def test_the_page_and_the_goodbye_offer_to_join_again(client, learner):
    goodbye = client.post(leave_path(learner)).content.decode()
    # Links are signed with the second they were made: compare up to the signature.
    stem = rejoin_path(learner).split(".")[0]
    assert re.search(re.escape(stem) + r"\.[^\"]+/rejoin", goodbye)
    page = client.get(path_of(links.learner_page_url(learner))).content.decode()
    assert "You left this cohort on" in page and re.search(re.escape(stem) + r"\.[^\"]+/rejoin", page)


def test_joining_again_asks_first_then_takes_the_button(client, learner, django_capture_on_commit_callbacks):
    client.post(leave_path(learner))
    shown = client.get(rejoin_path(learner)).content.decode()
    assert shown.count("<button") == 1 and "Join again" in shown
    learner.refresh_from_db()
    assert learner.state == Learner.LEFT
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(rejoin_path(learner), {"action": "rejoin"})
    assert "You are in" in response.content.decode()
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED and learner.left_at is None


def test_joining_again_when_still_in_changes_nothing(client, learner):
    confirmed_at = learner.confirmed_at
    response = client.post(rejoin_path(learner), {"action": "rejoin"})
    assert response.status_code == 200 and "You are in" in response.content.decode()
    learner.refresh_from_db()
    assert (learner.state, learner.confirmed_at) == (Learner.CONFIRMED, confirmed_at)
