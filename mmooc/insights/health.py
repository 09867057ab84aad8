"""How alive each study group is, from its last weeks' facts: plain data in, plain data out.

A group's health is a score from 0 to 100 with the reasons behind it, for staff:

- 45 points: the share of its members who were active (posted or checked in) in the window;
- 30 points: posts, full at POSTS_PER_WEEK a week;
- 25 points: replies between members, full at REPLIES_PER_WEEK a week;
- minus up to 20 points: the share of members lost in the window (left, unsubscribed, bounced).

A group is quiet once the course is past week QUIET_AFTER_WEEK and fewer than QUIET_ACTIVE of
its members were active in the last WINDOW_WEEKS weeks: the remedies (remedies.py) are for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The window of facts a score is made from.
WINDOW_WEEKS = 2
# Quiet: fewer than this many active members in the window ...
QUIET_ACTIVE = 3
# ... once the course is past this week (in week 1 and 2 groups are still finding their feet).
QUIET_AFTER_WEEK = 2
# A group posting this much a week gets the full volume points.
POSTS_PER_WEEK = 3
# ... and this many replies between members a week the full conversation points.
REPLIES_PER_WEEK = 2
ACTIVE_POINTS, VOLUME_POINTS, CONVERSATION_POINTS, LOSS_POINTS = 45, 30, 25, 20


@dataclass(frozen=True)
class GroupFacts:
    """What happened in one group in the window. Learner ids, not names."""

    group_id: int
    members: int  # active members now
    posts: int = 0  # posts relayed in the window
    posters: frozenset[int] = frozenset()  # members who posted in the window
    replies: int = 0  # posts in the window answering another member's post
    checked_in: frozenset[int] = frozenset()  # members who checked in in the window
    checkins: int = 0
    lost: int = 0  # members who left, unsubscribed or bounced in the window
    weeks: int = WINDOW_WEEKS


@dataclass(frozen=True)
class Health:
    group_id: int
    score: int
    active: int
    quiet: bool
    reasons: tuple[str, ...] = field(default=())


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def score(facts: GroupFacts, week: int) -> Health:
    """The health of one group in course week `week` (1 = the first week; 0 or less: not started)."""
    active = len(facts.posters | facts.checked_in)
    members = max(facts.members, active, 1)
    weeks = max(facts.weeks, 1)
    points = (ACTIVE_POINTS * active / members
              + VOLUME_POINTS * min(1.0, facts.posts / (POSTS_PER_WEEK * weeks))
              + CONVERSATION_POINTS * min(1.0, facts.replies / (REPLIES_PER_WEEK * weeks))
              - LOSS_POINTS * facts.lost / (members + facts.lost))
    value = max(0, min(100, round(points)))
    quiet = week > QUIET_AFTER_WEEK and active < QUIET_ACTIVE
    return Health(facts.group_id, value, active, quiet, _reasons(facts, active, weeks))


def _reasons(facts: GroupFacts, active: int, weeks: int) -> tuple[str, ...]:
    span = _plural(weeks, "week", "weeks")
    reasons = [f"{_plural(active, 'active member', 'active members')} of {facts.members} in the last {span}"]
    if facts.posts == 0:
        reasons.append(f"no posts in the last {span}")
    else:
        reasons.append(f"{_plural(facts.posts, 'post', 'posts')} by "
                       f"{_plural(len(facts.posters), 'member', 'members')}")
        reasons.append(_plural(facts.replies, "reply", "replies") + " between members" if facts.replies
                       else "no replies between members")
    if facts.checkins:
        reasons.append(f"{_plural(facts.checkins, 'check-in', 'check-ins')} by "
                       f"{_plural(len(facts.checked_in), 'member', 'members')}")
    if facts.lost:
        reasons.append(f"{_plural(facts.lost, 'member', 'members')} lost (left, unsubscribed or bounced)")
    return tuple(reasons)


def scores(facts: list[GroupFacts], week: int) -> list[Health]:
    return [score(f, week) for f in facts]
