"""A member switches between each post and a daily digest from their page."""

from __future__ import annotations

import pytest

from mmooc.groups.models import Membership
from mmooc.learners import links
from mmooc.learners.tests.helpers import path_of
from mmooc.testing import add_member, make_cohort, make_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    group = make_group(make_cohort(), 1)
    return add_member(group, "bob@example.org", name="Bob Jones")


def _path(membership) -> str:
    token = path_of(links.learner_page_url(membership.learner)).rstrip("/").rsplit("/", 1)[1]
    return f"/group-delivery/{token}/"


def test_the_page_offers_the_choice_and_a_member_switches_to_a_digest(client, member):
    page = client.get(path_of(links.learner_page_url(member.learner))).content.decode()
    assert 'name="delivery" value="digest"' in page
    response = client.post(_path(member), {"delivery": "digest"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.delivery == Membership.DIGEST


@pytest.mark.parametrize("value", ["", "weekly", "digest" * 1000, "each\r\nX"])
def test_a_bad_choice_changes_nothing(client, member, value):
    response = client.post(_path(member), {"delivery": value})
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.delivery == Membership.EACH


def test_a_tampered_link_changes_nothing(client, member):
    response = client.post(_path(member)[:-3] + "xx/", {"delivery": "digest"})
    assert response.status_code == 404
    member.refresh_from_db()
    assert member.delivery == Membership.EACH


def test_a_member_chooses_web_only_and_back_and_each_choice_joins_their_history(client, member):
    from mmooc.learners import lifecycle
    from mmooc.learners.models import LearnerEvent

    page = client.get(path_of(links.learner_page_url(member.learner))).content.decode()
    assert 'name="delivery" value="web"' in page
    response = client.post(_path(member), {"delivery": "web"}, follow=True)
    assert "You will get no group mail" in response.content.decode()
    member.refresh_from_db()
    assert member.delivery == Membership.WEB
    assert 'value="web" checked' in response.content.decode()
    client.post(_path(member), {"delivery": "web"})  # again: nothing more to record
    client.post(_path(member), {"delivery": "each"})
    member.refresh_from_db()
    assert member.delivery == Membership.EACH
    assert [(e.kind, e.note) for e in lifecycle.history(member.learner)] == [
        (LearnerEvent.GROUP_MAIL, "web"), (LearnerEvent.GROUP_MAIL, "each")]
    assert "chose how to get group mail" in client.get(path_of(links.learner_page_url(member.learner))).content.decode()
