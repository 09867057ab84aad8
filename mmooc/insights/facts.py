"""What the health engine and the research export read from the database, as plain data.

`checkins(cohort, since)` is the one place check-ins come in (the checkins app's rows, each
with the group its learner is in now).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership, StudyGroup
from mmooc.insights.health import WINDOW_WEEKS, GroupFacts
from mmooc.learners.models import Learner
from mmooc.lists.models import Post
from mmooc.mailer.models import Suppression

CHUNK = 1000  # Message-IDs per parent lookup


@dataclass(frozen=True)
class CheckIn:
    learner_id: int
    group_id: int | None  # the group the learner was in, None if in none
    week: int  # the course week checked in for
    at: datetime


@dataclass(frozen=True)
class Reply:
    """A post answering another learner's post of the same group."""

    group_id: int
    author_id: int
    to_author_id: int
    at: datetime


def checkins(cohort: Cohort, since: datetime | None = None) -> list[CheckIn]:
    """The cohort's check-ins since `since` (all for None), each with the group its learner is in.

    Each check-in's group is looked up in the one-active-membership-per-learner index, rather
    than every member of the cohort read to place the (few) check-ins of the window."""
    from mmooc.checkins.models import CheckIn as Row

    rows = Row.objects.filter(cohort=cohort, **({"created_at__gte": since} if since else {}))
    group = Membership.objects.active().filter(learner=OuterRef("learner"), group__cohort=cohort).values("group_id")
    return [CheckIn(learner_id, group_id, week, created_at)
            for learner_id, week, created_at, group_id in rows.annotate(group_now=Subquery(group[:1]))
            .values_list("learner_id", "week", "created_at", "group_now")]


def course_week(cohort: Cohort, on: date | datetime) -> int:
    """1 in the week the cohort starts, 0 in the week before, and so on (UTC dates)."""
    day = on.date() if isinstance(on, datetime) else on
    return (day - cohort.start_date).days // 7 + 1


def parent_id(in_reply_to: str, references: str) -> str:
    """The Message-ID a post answers: In-Reply-To, else the last of References."""
    return in_reply_to.strip() or (references.split() or [""])[-1]


def replies(posts: QuerySet[Post]) -> Iterator[Reply]:
    """Each post of `posts` that answers a post of another learner in the same group."""
    rows = list(posts.filter(author__isnull=False, held=False).order_by()
                .values_list("group_id", "author_id", "in_reply_to", "references", "received_at"))
    wanted = {(g, parent_id(irt, refs)) for g, _, irt, refs, _ in rows} - {(g, "") for g, *_ in rows}
    authors = _authors(wanted)
    for group_id, author_id, irt, refs, at in rows:
        to = authors.get((group_id, parent_id(irt, refs)))
        if to is not None and to != author_id:
            yield Reply(group_id, author_id, to, at)


def _authors(wanted: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    ids = sorted({m for _, m in wanted})
    groups = {g for g, _ in wanted}
    found: dict[tuple[int, str], int] = {}
    for i in range(0, len(ids), CHUNK):
        for group_id, message_id, author_id in (Post.objects.filter(message_id__in=ids[i:i + CHUNK],
                                                                    group_id__in=groups, author__isnull=False)
                                                .values_list("group_id", "message_id", "author_id")):
            found[(group_id, message_id)] = author_id
    return found


def group_facts(cohort: Cohort, now: datetime | None = None, weeks: int = WINDOW_WEEKS) -> list[GroupFacts]:
    """The facts of each of the cohort's groups in the last `weeks` weeks.

    Members are counted per group in the database; the window's posts and check-ins (few) are
    each checked against the author's membership: no member is read one by one."""
    since = (now or timezone.now()) - timedelta(weeks=weeks)
    groups = list(StudyGroup.objects.filter(cohort=cohort).order_by("number").values_list("pk", flat=True))
    members = dict(Membership.objects.active().filter(group__cohort=cohort).values_list("group_id")
                   .annotate(n=Count("*")).order_by())
    window = Post.objects.filter(group__cohort=cohort, held=False, received_at__gte=since)
    posts: dict[int, int] = defaultdict(int)
    posters: dict[int, set[int]] = defaultdict(set)
    member = Exists(Membership.objects.active().filter(learner=OuterRef("author"), group=OuterRef("group")))
    for group_id, author_id, is_member in window.annotate(is_member=member).values_list(
            "group_id", "author_id", "is_member"):
        posts[group_id] += 1
        if is_member:
            posters[group_id].add(author_id)
    answered: dict[int, int] = defaultdict(int)
    for reply in replies(window):
        answered[reply.group_id] += 1
    checked: dict[int, list[int]] = defaultdict(list)
    for checkin in checkins(cohort, since):
        if checkin.group_id is not None:
            checked[checkin.group_id].append(checkin.learner_id)
    lost = lost_members(cohort, since)
    # A check-in's group is its learner's group now: each is one of the group's members.
    return [GroupFacts(group_id=g, members=members.get(g, 0), posts=posts[g], posters=frozenset(posters[g]),
                       replies=answered[g], checked_in=frozenset(checked[g]),
                       checkins=len(checked[g]), lost=lost[g], weeks=weeks)
            for g in groups]


def lost_members(cohort: Cohort, since: datetime) -> dict[int, int]:
    """Per group: members who left it since `since` (not moved to another group), and members
    still in it whose course emails stopped or whose address was suppressed since then."""
    lost: dict[int, int] = defaultdict(int)
    elsewhere = Membership.objects.active().filter(learner=OuterRef("learner"))
    left = (Membership.objects.filter(group__cohort=cohort, left_at__gte=since)
            .filter(~Exists(elsewhere)).values_list("group_id", flat=True))
    for group_id in left:
        lost[group_id] += 1
    # Found from the learners (few) rather than tested member by member (a subquery on the
    # suppressions for each of a large cohort's members): those who unsubscribed since, and
    # those whose address is among the suppressions since; each counted once, in the group
    # they are still in.
    learners = Learner.objects.filter(cohort=cohort)
    recent = Suppression.objects.filter(created_at__gte=since).values("address")
    gone = set(learners.filter(unsubscribed_at__gte=since).values_list("pk", flat=True))
    gone.update(learners.filter(email_key__in=recent).values_list("pk", flat=True))
    for group_id in (Membership.objects.active().filter(learner_id__in=sorted(gone), group__cohort=cohort)
                     .values_list("group_id", flat=True)):
        lost[group_id] += 1
    return lost

