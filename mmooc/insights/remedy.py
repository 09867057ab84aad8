"""Quiet groups' remedies against the database: proposing them, and applying one.

Proposals are worked out afresh from the groups as they are (remedies.propose); staff
apply one by its signed token, which is accepted only while the same remedy is still
proposed. Applying moves the members (groups.membership.regroup), closes merged groups to
late joiners (their address takes no more posts: nobody is in them), refits the group that
stays, queues one email to each affected member and records it in the audit log, all in
one transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.groups.apply import IDS_CHUNK, eligible_rows, group_settings
from mmooc.groups.membership import close as close_group
from mmooc.groups.membership import refit, regroup, zone_offset
from mmooc.groups.models import Membership, StudyGroup
from mmooc.insights import facts, health, mail
from mmooc.insights.remedies import MERGE, GroupState, Remedy, Waiting, propose
from mmooc.learners.models import Learner

_SALT = "mmooc.insights.remedy"


class RemedyError(ValueError):
    """A remedy that cannot be applied; the message is for staff."""


@dataclass(frozen=True)
class Proposal:
    """A remedy with what staff need to judge it."""

    remedy: Remedy
    target: StudyGroup
    sources: list[StudyGroup]
    joiners: list[Learner]
    token: str


def max_size(cohort: Cohort) -> int:
    return group_settings(cohort).largest


def states(cohort: Cohort, now: datetime | None = None) -> list[GroupState]:
    """The groups a remedy may touch: quiet, open, with members and room left (propose takes
    no other). Their members' offsets are counted per group and zone in the database, each
    zone's offset worked out once; the other groups' members (most of a large cohort's) are
    never counted by zone."""
    found = facts.group_facts(cohort, now)
    week = facts.course_week(cohort, now or timezone.now())
    room = max_size(cohort)
    members = {f.group_id: f.members for f in found}
    touched = sorted(h.group_id for h in health.scores(found, week) if h.quiet and 0 < members[h.group_id] < room)
    offsets: dict[int, list[float]] = {}
    zones = _Offsets(cohort)
    # Only those groups' members are counted, per group and zone, in chunks of groups.
    groups: list[StudyGroup] = []
    for start in range(0, len(touched), IDS_CHUNK):
        chunk = touched[start:start + IDS_CHUNK]
        # Found from the groups' memberships (their index): only these groups' members are read
        # (the groups are the cohort's: so are their members).
        rows = (Membership.objects.active().filter(group_id__in=chunk)
                .values_list("group_id", "learner__timezone").annotate(n=Count("*")).order_by())
        for group_id, zone, n in rows:
            offsets.setdefault(group_id, []).extend([zones[zone]] * n)
        groups += StudyGroup.objects.filter(pk__in=chunk, capacity__gt=0)
    return [GroupState(g.pk, g.number, "" if g.pooled else g.language, g.pooled, tuple(sorted(offsets[g.pk])), True)
            for g in sorted(groups, key=lambda g: g.number) if g.pk in offsets]


class _Offsets(dict[str, float]):
    """Zone name → UTC offset on the cohort's start date, each worked out once."""

    def __init__(self, cohort: Cohort):
        super().__init__()
        self.cohort = cohort

    def __missing__(self, zone: str) -> float:
        self[zone] = zone_offset(zone, self.cohort)
        return self[zone]


def waiting(cohort: Cohort) -> list[Waiting]:
    """The learners waiting for a group (none before the cohort has groups), in id order."""
    if not StudyGroup.objects.filter(cohort=cohort).exists():
        return []
    zones = _Offsets(cohort)
    return [Waiting(pk, language, zones[zone])
            for pk, language, zone in eligible_rows(cohort, ("pk", "language", "timezone"))]


def remedies(cohort: Cohort, now: datetime | None = None, waiting_now: list[Waiting] | None = None) -> list[Remedy]:
    found = waiting(cohort) if waiting_now is None else waiting_now
    return propose(states(cohort, now), found, max_size(cohort))


def token(remedy: Remedy) -> str:
    return signing.dumps(asdict(remedy), salt=_SALT, compress=True)


def from_token(value: str) -> Remedy:
    """The remedy a token names; RemedyError for anything else."""
    try:
        data = signing.loads(value, salt=_SALT)
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return Remedy(**fields)
    except (signing.BadSignature, TypeError, AttributeError, ValueError):
        raise RemedyError("This proposal is not one this site made. Open the proposals page again.") from None


def proposals(cohort: Cohort, now: datetime | None = None, waiting: list[Waiting] | None = None) -> list[Proposal]:
    """What remedies() proposes, with what staff need to judge each; `waiting` if already read."""
    found = remedies(cohort, now, waiting)
    groups = StudyGroup.objects.in_bulk([g for r in found for g in r.groups])
    learners = Learner.objects.in_bulk([j for r in found for j in r.joiners])
    return [Proposal(r, groups[r.target], [groups[s] for s in r.sources], [learners[j] for j in r.joiners],
                     token(r)) for r in found]


def members(group: StudyGroup) -> list[Learner]:
    return list(Learner.objects.filter(memberships__group=group, memberships__left_at__isnull=True).order_by("pk"))


def apply(cohort: Cohort, remedy: Remedy, actor: Any, now: datetime | None = None) -> int:
    """Apply a remedy that is still proposed; returns the emails queued."""
    with transaction.atomic():
        locked = list(StudyGroup.objects.select_for_update().filter(cohort=cohort, pk__in=remedy.groups))
        if len(locked) != len(remedy.groups) or remedy not in remedies(cohort, now):
            raise RemedyError("This proposal is no longer current: the groups or the waiting learners "
                              "changed since it was made. Look at the proposals again.")
        by_id = {g.pk: g for g in locked}
        target, sources = by_id[remedy.target], [by_id[s] for s in remedy.sources]
        staying = members(target)
        moved = {s.pk: members(s) for s in sources}
        joiners = list(Learner.objects.filter(pk__in=remedy.joiners).order_by("pk"))
        regroup([learner for group in sources for learner in moved[group.pk]] + joiners, target)
        for source in sources:
            close_group(source)
        refit(target)
        queued = mail.tell(target, staying, [(s, moved[s.pk]) for s in sources], joiners)
        _audit(actor, remedy, target, sources, len(joiners), queued)
    return queued


def _audit(actor: Any, remedy: Remedy, target: StudyGroup, sources: list[StudyGroup], joiners: int,
           queued: int) -> None:
    if remedy.kind == MERGE:
        names = ", ".join(s.name for s in sources)
        summary = f"Merged {names} into {target.name} ({remedy.size_after} members)"
    else:
        summary = f"Re-seeded {target.name} with {joiners} waiting learners ({remedy.size_after} members)"
    record(actor, f"groups.{remedy.kind}", target, summary, target=target.pk, sources=list(remedy.sources),
           joiners=list(remedy.joiners), sizes_before=list(remedy.sizes_before),
           spans_before=list(remedy.spans_before), size_after=remedy.size_after, span_after=remedy.span_after,
           emails=queued)
