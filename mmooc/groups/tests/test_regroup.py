"""Moving whole groups' members at once (merges and re-seeding of quiet groups), and refitting."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmooc import testing
from mmooc.groups.grouping import DAY, circular_span
from mmooc.groups.membership import arc, close, groups_with_room, refit, regroup
from mmooc.groups.models import Membership

OFFSETS = [-11.0, -8.0, -3.5, 0.0, 1.0, 5.75, 9.0, 12.0, 13.0, 14.0]


@given(st.lists(st.sampled_from(OFFSETS), min_size=1, max_size=10))
@settings(max_examples=300, deadline=None)
def test_the_arc_holds_every_offset_and_is_the_narrowest(offsets):
    start, end = arc(offsets)
    width = (end - start) % DAY
    assert width == pytest.approx(circular_span(offsets))
    assert all((o - start) % DAY <= width + 1e-9 for o in offsets)


def test_the_arc_runs_east_across_the_date_line():
    assert arc([13.0, -10.0]) == (13.0, -10.0)
    assert arc([-1.0, 1.0]) == (-1.0, 1.0)


@pytest.mark.django_db
def test_regroup_moves_learners_keeping_their_choices_and_places_waiting_ones(cohort):
    old = testing.make_group(cohort, 1, capacity=4)
    new = testing.make_group(cohort, 2, capacity=4)
    muted = testing.add_member(old, "muted@example.org", muted=True, delivery=Membership.DIGEST)
    waiting = testing.make_learner(cohort, "waiting@example.org")
    regroup([muted.learner, waiting], new)
    moved = Membership.objects.active().get(learner=muted.learner)
    assert (moved.group, moved.muted, moved.delivery) == (new, True, Membership.DIGEST)
    assert Membership.objects.active().get(learner=waiting).group == new
    assert Membership.objects.get(pk=muted.pk).left_at is not None


@pytest.mark.django_db
def test_a_closed_group_takes_no_late_joiner_and_refit_makes_room_for_the_members(cohort):
    old = testing.make_group(cohort, 1, capacity=4)
    new = testing.make_group(cohort, 2, capacity=2)
    for address, zone in [("a@example.org", "Asia/Tokyo"), ("b@example.org", "Pacific/Auckland"),
                          ("c@example.org", "Asia/Tokyo")]:
        testing.join(new, testing.make_learner(cohort, address, timezone=zone))
    close(old)
    refit(new)
    new.refresh_from_db()
    assert [g for g, _ in groups_with_room(cohort)] == []
    assert new.capacity == 3 and (new.offset_start, new.offset_end) == (9.0, 13.0) and new.span_hours == 4.0
