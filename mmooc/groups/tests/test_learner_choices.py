"""A learner's group choices as the learner makes them, through their links and page."""

from __future__ import annotations

import pytest
from django.test import Client

from mmooc.groups import membership
from mmooc.groups.apply import apply_grouping
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners import lifecycle, links
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import path_of
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def cohort():
    return make_cohort()


def grouped(cohort, count=4):
    learners = [make_learner(cohort, timezone="UTC") for _ in range(count)]
    apply_grouping(cohort)
    return learners


def welcomes(learner):
    return Delivery.objects.filter(ref=str(learner.public_id), message__tag__in=["group-welcome", "group-joined"])


def left_by_one_click(learner):
    response = Client(enforce_csrf_checks=True).post(path_of(links.unsubscribe_url(learner, "group")), ONE_CLICK)
    assert response.status_code == 200


def left_on_the_page(client, learner):
    response = client.post(path_of(links.unsubscribe_url(learner, "group")), {"choice": "group"})
    assert response.status_code == 200
    content = response.content.decode()
    # Links are signed with the second they were made: compare up to the signature.
    assert "you study on your own" in content and path_of(links.learner_page_url(learner)).split(".")[0] in content


@pytest.mark.parametrize("leave", ["one-click", "page"])
def test_leaving_the_group_by_its_unsubscribe_link_sticks_through_the_next_grouping(client, cohort, leave):
    learner, *others = grouped(cohort)
    left_by_one_click(learner) if leave == "one-click" else left_on_the_page(client, learner)
    assert membership.active_membership(learner) is None
    before = welcomes(learner).count()

    assert learner not in membership.waiting_learners(cohort)
    make_learner(cohort, timezone="UTC")  # someone new to group, so apply has work
    apply_grouping(cohort)
    membership.place_late_joiner(learner)
    assert membership.active_membership(learner) is None
    assert welcomes(learner).count() == before
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED and learner.unsubscribed_at is None  # still in the cohort


def test_a_learner_who_left_their_group_is_placed_again_once_they_ask_on_their_page(
        client, cohort, django_capture_on_commit_callbacks):
    learner, *others = grouped(cohort)
    left_by_one_click(learner)
    page = path_of(links.learner_page_url(learner))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page, {"name": learner.name, "timezone": "UTC", "language": "en", "group": "group"})
    assert response.status_code == 302
    placed = membership.active_membership(learner)
    assert placed is not None and placed.group in StudyGroup.objects.filter(cohort=cohort)


def test_on_my_own_on_the_learner_page_ends_the_membership_at_once(client, cohort):
    learner, *others = grouped(cohort)
    page = path_of(links.learner_page_url(learner))
    response = client.post(page, {"name": learner.name, "timezone": "UTC", "language": "en", "group": "solo"})
    assert response.status_code == 302
    assert membership.active_membership(learner) is None
    content = client.get(page).content.decode()
    assert "You study on your own" in content and "Group 1" not in content
    apply_grouping(cohort)
    assert membership.active_membership(learner) is None


def test_saving_the_page_unchanged_leaves_the_membership_alone(client, cohort):
    learner, *others = grouped(cohort)
    page = path_of(links.learner_page_url(learner))
    client.post(page, {"name": "New Name", "timezone": "UTC", "language": "en", "group": "group"})
    assert Membership.objects.active().filter(learner=learner).count() == 1


def test_a_late_joiner_gets_the_course_welcome_before_their_group(cohort, django_capture_on_commit_callbacks):
    grouped(cohort)
    late = make_learner(cohort, state=Learner.PENDING, timezone="UTC")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.confirm(late)
    tags = list(Delivery.objects.filter(ref=str(late.public_id)).order_by("id")
                .values_list("message__tag", flat=True))
    assert tags == ["welcome", "group-joined"]
