"""POST /me/<token>/leave."""

from __future__ import annotations

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


def test_it_refuses_get(client, learner):
    assert client.get(leave_path(learner)).status_code == 405
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED


def test_it_refuses_a_tampered_link(client, learner):
    response = client.post(leave_path(learner).replace("/me/", "/me/x"))
    assert response.status_code == 404
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED
