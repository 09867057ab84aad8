"""Remedies for quiet groups: plain data in, plain data out, like the grouping.

Two remedies, tried in this order for each quiet group (health.py says which are quiet):

- re-seed: learners waiting for a group (confirmed after grouping, when no group had room)
  join a quiet group of their language whose time zones are near theirs, up to the
  grouping's maximum size. Waiting learners get a group and the group gets new voices.
- merge: two quiet groups of the same language (or two pooled groups) whose time zones
  are near each other, and whose members together fit the grouping's maximum size, become
  one: the smaller group's members move into the larger one, and the smaller one closes.

"Near": the offsets of everyone in the result fit in an arc of the day at most NEARBY_HOURS
wider than the wider group's arc before. Each group and each waiting learner is in at most
one remedy; applying one remedy and asking again may give more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mmooc.groups.grouping import circular_span

NEARBY_HOURS = 3.0
MERGE, RESEED = "merge", "reseed"


@dataclass(frozen=True)
class GroupState:
    group_id: int
    number: int
    language: str  # "" for a pooled group
    pooled: bool
    offsets: tuple[float, ...]  # each active member's UTC offset (hours)
    quiet: bool

    @property
    def size(self) -> int:
        return len(self.offsets)

    @property
    def span(self) -> float:
        return circular_span(self.offsets)


@dataclass(frozen=True)
class Waiting:
    learner_id: int
    language: str
    offset: float


@dataclass(frozen=True)
class Remedy:
    kind: str  # MERGE or RESEED
    target: int  # the group that stays (group id)
    sources: tuple[int, ...]  # groups whose members move into it and that close (merges)
    joiners: tuple[int, ...]  # waiting learners who join it (re-seeding)
    sizes_before: tuple[int, ...]  # target first, then each source
    spans_before: tuple[float, ...]
    size_after: int
    span_after: float

    @property
    def groups(self) -> tuple[int, ...]:
        return (self.target, *self.sources)


def _near(before: Sequence[float], after: Sequence[float]) -> bool:
    return circular_span(after) <= max(before, default=0.0) + NEARBY_HOURS + 1e-9


def _speaks(group: GroupState, language: str) -> bool:
    return group.pooled or group.language == language


def propose(groups: Sequence[GroupState], waiting: Sequence[Waiting], max_size: int) -> list[Remedy]:
    """Re-seedings first (they also give waiting learners a group), then merges of the rest."""
    quiet = sorted((g for g in groups if g.quiet and g.size < max_size), key=lambda g: (g.size, g.number))
    taken: set[int] = set()
    remedies = []
    for group in quiet:
        remedy = _reseed(group, [w for w in waiting if w.learner_id not in taken], max_size)
        if remedy is not None:
            taken.update(remedy.joiners)
            remedies.append(remedy)
    used = {r.target for r in remedies}
    for group in quiet:
        if group.group_id in used:
            continue
        partner = _partner(group, [g for g in quiet if g.group_id not in used and g.group_id != group.group_id],
                           max_size)
        if partner is not None:
            used.update({group.group_id, partner.group_id})
            remedies.append(_merge(group, partner))
    return remedies


def _reseed(group: GroupState, waiting: Sequence[Waiting], max_size: int) -> Remedy | None:
    """The nearest waiting learners of the group's language, while they fit and stay near."""
    fits = sorted((w for w in waiting if _speaks(group, w.language)),
                  key=lambda w: (circular_span((*group.offsets, w.offset)), w.learner_id))
    offsets: tuple[float, ...] = group.offsets
    chosen: list[int] = []
    for learner in fits:
        if len(offsets) >= max_size:
            break
        if _near([group.span], (*offsets, learner.offset)):
            offsets, chosen = (*offsets, learner.offset), [*chosen, learner.learner_id]
    if not chosen:
        return None
    return Remedy(RESEED, group.group_id, (), tuple(chosen), (group.size,), (group.span,),
                  len(offsets), circular_span(offsets))


def _compatible(a: GroupState, b: GroupState, max_size: int) -> bool:
    return (a.pooled == b.pooled and a.language == b.language and a.size + b.size <= max_size
            and _near([a.span, b.span], a.offsets + b.offsets))


def _partner(group: GroupState, others: Sequence[GroupState], max_size: int) -> GroupState | None:
    fits = [o for o in others if _compatible(group, o, max_size)]
    return min(fits, key=lambda o: (circular_span(group.offsets + o.offsets), -o.size, o.number), default=None)


def _merge(a: GroupState, b: GroupState) -> Remedy:
    """The larger group stays (the lower number if they are as large); the other closes."""
    target, source = sorted((a, b), key=lambda g: (-g.size, g.number))
    offsets = target.offsets + source.offsets
    return Remedy(MERGE, target.group_id, (source.group_id,), (), (target.size, source.size),
                  (target.span, source.span), len(offsets), circular_span(offsets))
