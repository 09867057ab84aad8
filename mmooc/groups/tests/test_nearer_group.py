"""After a zone change, a member whose group is far from their new zone is offered (never
forced) a move to a nearer group of the cohort."""

from __future__ import annotations

import pytest

from mmooc.groups import membership
from mmooc.groups.models import Membership
from mmooc.learners import lifecycle, links
from mmooc.learners.models import LearnerEvent
from mmooc.learners.tests.helpers import path_of
from mmooc.testing import join, make_cohort, make_group, make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups():
    cohort = make_cohort(slug="py-3")
    india, america = make_group(cohort, 1, capacity=10), make_group(cohort, 2, capacity=10)
    for n in range(3):
        join(india, make_learner(cohort, f"in{n}@example.org", timezone="Asia/Kolkata"))
        join(america, make_learner(cohort, f"us{n}@example.org", timezone="America/Chicago"))
    for group in (india, america):
        membership.refit(group)
    return india, america


@pytest.fixture
def priya(groups):
    india, _ = groups
    learner = make_learner(india.cohort, "priya@example.org", timezone="Asia/Kolkata")
    return join(india, learner, delivery=Membership.DIGEST)


def _page(learner) -> str:
    return path_of(links.learner_page_url(learner))


def _move_path(learner) -> str:
    token = _page(learner).rstrip("/").rsplit("/", 1)[1]
    return f"/group-move/{token}/"


def _preferences(zone: str) -> dict[str, str]:
    return {"name": "Priya", "timezone": zone, "language": "en", "group": "group"}


def test_no_offer_while_the_group_fits_the_members_zone(client, priya):
    assert membership.nearer_group(priya.learner) is None
    assert "group-nearer" not in client.get(_page(priya.learner)).content.decode()


def test_after_moving_to_new_york_the_page_offers_the_nearer_group_and_a_post_moves_her(client, groups, priya):
    india, america = groups
    learner = priya.learner
    client.post(_page(learner), _preferences("America/New_York"))
    learner.refresh_from_db()
    assert learner.timezone == "America/New_York"
    page = client.get(_page(learner)).content.decode()
    assert "Move to Group 2 (UTC−6)?" in page and 'name="group" value="2"' in page
    assert Membership.objects.get(learner=learner, left_at__isnull=True).group == india  # only offered

    response = client.post(_move_path(learner), {"group": "2"}, follow=True)
    assert "You are now in Group 2" in response.content.decode()
    assert "group-nearer" not in response.content.decode()
    rows = list(Membership.objects.filter(learner=learner).order_by("joined_at", "pk"))
    assert [(m.group, m.left_at is None, m.delivery) for m in rows] == [
        (india, False, Membership.DIGEST), (america, True, Membership.DIGEST)]
    assert [(e.kind, e.note) for e in lifecycle.history(learner)][-2:] == [
        (LearnerEvent.ZONE_CHANGED, "Asia/Kolkata → America/New_York"),
        (LearnerEvent.GROUP_MOVED, "Group 1 → Group 2")]


def test_declining_keeps_everything_and_a_stale_or_forged_offer_changes_nothing(client, groups, priya):
    india, america = groups
    learner = priya.learner
    lifecycle.change_timezone(learner, "America/New_York")
    assert membership.nearer_group(learner) == america
    for forged in ({"group": "1"}, {"group": "3"}, {"group": "x"}, {}):
        response = client.post(_move_path(learner), forged, follow=True)
        assert "This offer no longer stands" in response.content.decode()
    lifecycle.change_timezone(learner, "Asia/Kolkata")  # back home: the offer is gone
    client.post(_move_path(learner), {"group": "2"})
    assert list(Membership.objects.filter(learner=learner).values_list("group", "left_at")) == [(india.pk, None)]
    assert LearnerEvent.GROUP_MOVED not in {e.kind for e in lifecycle.history(learner)}


def test_no_offer_when_the_nearer_group_is_full_or_of_another_language(groups, priya):
    india, america = groups
    lifecycle.change_timezone(priya.learner, "America/New_York")
    america.capacity = 3
    america.save(update_fields=["capacity"])
    assert membership.nearer_group(priya.learner) is None
    america.capacity, america.language = 10, "es"
    america.save(update_fields=["capacity", "language"])
    india.language = "en"
    india.save(update_fields=["language"])
    assert membership.nearer_group(priya.learner) is None
