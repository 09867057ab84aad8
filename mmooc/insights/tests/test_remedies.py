"""Remedies for quiet groups: a pure function, tested like the grouping."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmooc.groups.grouping import circular_span
from mmooc.insights.remedies import MERGE, NEARBY_HOURS, RESEED, GroupState, Waiting, propose

OFFSETS = [-8.0, -5.0, -3.0, 0.0, 1.0, 2.0, 5.5, 8.0, 9.0, 12.0, 13.0]
LANGS = ["en", "es", ""]


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[GroupState], list[Waiting], int]:
    groups = []
    for i in range(draw(st.integers(0, 12))):
        language = draw(st.sampled_from(LANGS))
        offsets = tuple(draw(st.lists(st.sampled_from(OFFSETS), min_size=1, max_size=8)))
        groups.append(GroupState(100 + i, i + 1, language, language == "", offsets, draw(st.booleans())))
    waiting = [Waiting(1000 + i, draw(st.sampled_from(["en", "es", "fr"])), draw(st.sampled_from(OFFSETS)))
               for i in range(draw(st.integers(0, 10)))]
    return groups, waiting, draw(st.integers(2, 14))


@given(cohorts())
@settings(max_examples=300, deadline=None)
def test_remedies_hold_their_promises(case):
    groups, waiting, max_size = case
    by_id = {g.group_id: g for g in groups}
    waiting_by_id = {w.learner_id: w for w in waiting}
    remedies = propose(groups, waiting, max_size)
    touched = [gid for r in remedies for gid in r.groups]
    joined = [lid for r in remedies for lid in r.joiners]
    assert len(touched) == len(set(touched)), "a group is in one remedy at most"
    assert len(joined) == len(set(joined)), "a waiting learner joins one group at most"
    for remedy in remedies:
        target = by_id[remedy.target]
        members = [by_id[g] for g in remedy.groups]
        assert all(g.quiet for g in members)
        offsets = [o for g in members for o in g.offsets] + [waiting_by_id[j].offset for j in remedy.joiners]
        assert remedy.size_after == len(offsets) <= max_size
        assert remedy.span_after == circular_span(offsets)
        assert remedy.span_after <= max(g.span for g in members) + NEARBY_HOURS + 1e-9
        assert remedy.sizes_before == tuple(g.size for g in members)
        if remedy.kind == MERGE:
            assert len(remedy.sources) == 1 and not remedy.joiners
            source = by_id[remedy.sources[0]]
            assert (source.language, source.pooled) == (target.language, target.pooled)
            assert target.size >= source.size
        else:
            assert remedy.kind == RESEED and remedy.joiners and not remedy.sources
            assert all(target.pooled or waiting_by_id[j].language == target.language for j in remedy.joiners)


@given(cohorts())
@settings(max_examples=200, deadline=None)
def test_no_two_leftover_quiet_groups_could_have_been_merged(case):
    groups, waiting, max_size = case
    remedies = propose(groups, waiting, max_size)
    touched = {gid for r in remedies for gid in r.groups}
    left = [g for g in groups if g.quiet and g.group_id not in touched]
    for a in left:
        for b in left:
            if a.group_id < b.group_id and (a.language, a.pooled) == (b.language, b.pooled):
                fits = a.size + b.size <= max_size
                near = circular_span(a.offsets + b.offsets) <= max(a.span, b.span) + NEARBY_HOURS
                assert not (fits and near)


def test_two_quiet_groups_nearby_merge_into_the_larger():
    small = GroupState(1, 1, "en", False, (1.0, 2.0), True)
    large = GroupState(2, 2, "en", False, (0.0, 1.0, 1.0), True)
    [remedy] = propose([small, large], [], 8)
    assert (remedy.kind, remedy.target, remedy.sources) == (MERGE, 2, (1,))
    assert (remedy.size_after, remedy.span_after) == (5, 2.0)


def test_groups_of_other_languages_far_zones_or_too_many_members_stay_apart():
    en = GroupState(1, 1, "en", False, (0.0, 1.0), True)
    assert propose([en, GroupState(2, 2, "es", False, (0.0,), True)], [], 8) == []
    assert propose([en, GroupState(2, 2, "en", False, (9.0,), True)], [], 8) == []
    assert propose([en, GroupState(2, 2, "en", False, (0.0,) * 7, True)], [], 8) == []
    assert propose([en, GroupState(2, 2, "en", False, (0.0,), False)], [], 8) == []


def test_waiting_learners_reseed_a_quiet_group_before_any_merge():
    a = GroupState(1, 1, "en", False, (0.0, 1.0), True)
    b = GroupState(2, 2, "en", False, (1.0, 2.0), True)
    waiting = [Waiting(50, "en", 2.0), Waiting(51, "en", 11.0), Waiting(52, "es", 0.0)]
    remedies = propose([a, b], waiting, 8)
    assert [(r.kind, r.target, r.joiners) for r in remedies] == [(RESEED, 1, (50,))]
