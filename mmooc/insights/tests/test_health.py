"""The health score: plain facts in, a score and its reasons out."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from mmooc.insights.health import QUIET_ACTIVE, QUIET_AFTER_WEEK, GroupFacts, score

ids = st.frozensets(st.integers(1, 30), max_size=12)


@st.composite
def group_facts(draw: st.DrawFn) -> GroupFacts:
    posters, checked_in = draw(ids), draw(ids)
    posts = draw(st.integers(len(posters), len(posters) + 40))
    return GroupFacts(group_id=1, members=draw(st.integers(0, 40)), posts=posts, posters=posters,
                      replies=draw(st.integers(0, posts)), checked_in=checked_in,
                      checkins=draw(st.integers(len(checked_in), len(checked_in) + 20)),
                      lost=draw(st.integers(0, 10)), weeks=draw(st.integers(1, 4)))


@given(group_facts(), st.integers(-2, 12))
@settings(max_examples=300, deadline=None)
def test_the_score_is_between_0_and_100_with_reasons(facts, week):
    health = score(facts, week)
    assert 0 <= health.score <= 100
    assert health.reasons and health.reasons[0].startswith(f"{health.active} active member")


@given(group_facts(), st.integers(-2, 12))
@settings(max_examples=300, deadline=None)
def test_a_group_is_quiet_exactly_when_few_were_active_after_the_first_weeks(facts, week):
    health = score(facts, week)
    assert health.active == len(facts.posters | facts.checked_in)
    assert health.quiet == (week > QUIET_AFTER_WEEK and health.active < QUIET_ACTIVE)


@given(group_facts(), st.integers(100, 130))
@settings(max_examples=300, deadline=None)
def test_one_more_active_member_never_lowers_the_score(facts, newcomer):
    more = replace(facts, posters=facts.posters | {newcomer}, posts=facts.posts + 1,
                   members=max(facts.members, len(facts.posters | facts.checked_in) + 1))
    same_size = replace(facts, members=more.members)
    assert score(more, 5).score >= score(same_size, 5).score


@given(group_facts())
@settings(max_examples=300, deadline=None)
def test_losing_members_never_raises_the_score(facts):
    assert score(replace(facts, lost=facts.lost + 1), 5).score <= score(facts, 5).score


@given(group_facts())
@settings(max_examples=200, deadline=None)
def test_replies_never_lower_the_score(facts):
    if facts.replies < facts.posts:
        assert score(replace(facts, replies=facts.replies + 1), 5).score >= score(facts, 5).score


def test_the_reasons_say_what_a_facilitator_would_look_at():
    facts = GroupFacts(group_id=7, members=6, posts=4, posters=frozenset({1, 2}), replies=0, lost=1)
    health = score(facts, 3)
    assert health.reasons == ("2 active members of 6 in the last 2 weeks", "4 posts by 2 members",
                              "no replies between members", "1 member lost (left, unsubscribed or bounced)")
    assert health.quiet


def test_a_silent_group_scores_0_and_a_lively_one_100():
    assert score(GroupFacts(group_id=1, members=5), 4).score == 0
    lively = GroupFacts(group_id=1, members=3, posts=6, posters=frozenset({1, 2, 3}), replies=4)
    assert score(lively, 4).score == 100
    assert not score(lively, 4).quiet


def test_check_ins_count_as_activity():
    facts = GroupFacts(group_id=1, members=4, checked_in=frozenset({1, 2, 3}), checkins=5)
    health = score(facts, 4)
    assert health.active == 3 and not health.quiet
    assert "5 check-ins by 3 members" in health.reasons


def test_no_group_is_quiet_in_its_first_weeks():
    assert not score(GroupFacts(group_id=1, members=5), QUIET_AFTER_WEEK).quiet
    assert score(GroupFacts(group_id=1, members=5), QUIET_AFTER_WEEK + 1).quiet
