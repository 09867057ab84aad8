"""Late joiners, leaving, and staff moderation of group members."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc.audit.models import AuditEntry
from mmooc.groups import membership
from mmooc.groups.apply import apply_grouping
from mmooc.groups.grouping import GroupingError
from mmooc.groups.models import GroupCheck, Membership, StudyGroup
from mmooc.learners import lifecycle, signals
from mmooc.learners.models import Learner
from mmooc.mailer.models import Message
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


def grouped(cohort, zones_and_langs):
    for zone, lang in zones_and_langs:
        make_learner(cohort, timezone=zone, language=lang)
    apply_grouping(cohort)
    return list(StudyGroup.objects.filter(cohort=cohort).order_by("number"))


def test_it_places_a_late_joiner_in_the_nearest_group_with_room(cohort):
    grouped(cohort, [("Asia/Tokyo", "en")] * 3 + [("America/Chicago", "en")] * 3)
    late = make_learner(cohort, timezone="America/Mexico_City")
    placed = membership.place_late_joiner(late)
    assert placed is not None
    assert placed.group.memberships.exclude(learner=late).first().learner.timezone == "America/Chicago"


def test_it_prefers_a_group_in_the_late_joiners_language(cohort):
    grouped(cohort, [("Europe/Madrid", "es")] * 3 + [("Europe/Paris", "en")] * 3)
    late = make_learner(cohort, timezone="Europe/Paris", language="es")
    placed = membership.place_late_joiner(late)
    assert placed.group.language == "es"


def test_it_tells_the_late_joiner_which_group_they_are_in(cohort):
    grouped(cohort, [("UTC", "en")] * 3)
    late = make_learner(cohort, timezone="UTC")
    membership.place_late_joiner(late)
    message = Message.objects.get(tag="group-joined")
    assert list(message.deliveries.values_list("recipient", flat=True)) == [late.email]
    assert "Group 1" in message.body and "py-3-group-1@" in message.body


def test_it_makes_a_late_joiner_wait_when_no_group_has_room(cohort):
    grouped(cohort, [("UTC", "en")] * 4)  # one group of 4, capacity 5
    membership.place_late_joiner(make_learner(cohort))
    late = make_learner(cohort)
    assert membership.place_late_joiner(late) is None
    assert list(membership.waiting_learners(cohort)) == [late]


def test_it_places_nobody_before_the_cohort_has_groups(cohort):
    late = make_learner(cohort)
    assert membership.place_late_joiner(late) is None
    assert not membership.waiting_learners(cohort).exists()


def test_it_does_not_place_a_learner_studying_alone(cohort):
    grouped(cohort, [("UTC", "en")] * 3)
    assert membership.place_late_joiner(make_learner(cohort, wants_group=False)) is None


def test_it_places_late_joiners_when_they_confirm(cohort):
    grouped(cohort, [("UTC", "en")] * 3)
    late = make_learner(cohort)
    lifecycle.announce_confirmed(late)
    assert membership.active_membership(late) is not None


def test_it_opens_a_new_group_from_waiting_learners(cohort):
    grouped(cohort, [("UTC", "en")] * 4)
    waiting = [make_learner(cohort) for _ in range(4)]
    for learner in waiting[:1]:
        membership.place_late_joiner(learner)
    assert membership.waiting_learners(cohort).count() == 3
    apply_grouping(cohort)
    assert not membership.waiting_learners(cohort).exists()
    assert StudyGroup.objects.filter(cohort=cohort).count() == 2


def test_it_lets_a_learner_leave_their_group(cohort):
    grouped(cohort, [("UTC", "en")] * 3)
    learner = Learner.objects.first()
    membership.leave(learner)
    assert membership.active_membership(learner) is None
    assert Membership.objects.get(learner=learner).left_at is not None


def test_it_ends_the_membership_when_the_learner_leaves_the_cohort(cohort):
    grouped(cohort, [("UTC", "en")] * 3)
    learner = Learner.objects.first()
    signals.learner_left.send(sender=Learner, learner=learner)
    assert membership.active_membership(learner) is None


def test_it_ends_the_membership_when_the_learner_leaves_the_group_by_link(cohort):
    grouped(cohort, [("UTC", "en")] * 3)
    learner = Learner.objects.first()
    signals.learner_left_group.send(sender=Learner, learner=learner)
    assert membership.active_membership(learner) is None


def test_it_moves_a_learner_to_another_group_and_records_it(cohort, facilitator):
    first, second = grouped(cohort, [("UTC", "en")] * 8)
    learner = first.memberships.first().learner
    moved = membership.move(learner, second, facilitator)
    assert moved.group == second
    assert Membership.objects.filter(learner=learner).count() == 2
    entry = AuditEntry.objects.get(action="member.moved")
    assert entry.actor == facilitator and entry.details["to_group"] == second.pk


def test_it_keeps_delivery_choice_when_moving(cohort, organizer):
    first, second = grouped(cohort, [("UTC", "en")] * 8)
    current = first.memberships.first()
    membership.set_delivery(current, Membership.DIGEST)
    moved = membership.move(current.learner, second, organizer)
    assert moved.delivery == Membership.DIGEST


def test_it_refuses_to_move_a_learner_to_another_cohorts_group(cohort, organizer):
    grouped(cohort, [("UTC", "en")] * 3)
    other = make_cohort(slug="other")
    make_learner(other)
    apply_grouping(other)
    learner = Learner.objects.filter(cohort=cohort).first()
    with pytest.raises(GroupingError):
        membership.move(learner, StudyGroup.objects.get(cohort=other), organizer)
    assert not AuditEntry.objects.filter(action="member.moved").exists()


def test_it_removes_a_member_and_records_it(cohort, organizer):
    grouped(cohort, [("UTC", "en")] * 3)
    member = Membership.objects.first()
    membership.remove(member, organizer)
    member.refresh_from_db()
    assert member.left_at is not None
    assert AuditEntry.objects.get(action="member.removed").actor == organizer


def test_it_mutes_and_unmutes_a_member_and_records_both(cohort, facilitator):
    grouped(cohort, [("UTC", "en")] * 3)
    member = Membership.objects.first()
    membership.set_muted(member, True, facilitator)
    assert Membership.objects.get(pk=member.pk).muted
    membership.set_muted(member, False, facilitator)
    assert not Membership.objects.get(pk=member.pk).muted
    assert [e.details["muted"] for e in AuditEntry.objects.filter(action="member.muted").order_by("id")] == [
        True, False]


def test_it_refuses_an_unknown_delivery_choice(cohort):
    grouped(cohort, [("UTC", "en")] * 3)
    member = Membership.objects.first()
    with pytest.raises(GroupingError):
        membership.set_delivery(member, "weekly")
    assert Membership.objects.get(pk=member.pk).delivery == Membership.EACH


def test_it_measures_distance_to_a_groups_arc_around_the_date_line():
    group = StudyGroup(offset_start=13.0, offset_end=-10.0)  # UTC+13 east to UTC-10: 1 hour
    assert membership.distance_hours(14.0, group) == 0.0
    assert membership.distance_hours(-8.0, group) == 2.0
    assert membership.distance_hours(11.0, group) == 2.0


def test_it_does_not_count_learners_silent_to_the_group_check_as_waiting(cohort):
    cohort.confirm_group_wish = True
    cohort.save()
    make_learner(cohort, group_confirmed=True)
    GroupCheck.objects.create(cohort=cohort, sent_at=timezone.now() - timedelta(hours=1))
    apply_grouping(cohort)
    make_learner(cohort, confirmed_at=timezone.now() - timedelta(days=1))  # asked, never answered
    late = make_learner(cohort)  # confirmed after the question
    assert list(membership.waiting_learners(cohort)) == [late]
