"""Who is in which group after grouping: late joiners, leaving, and staff moderation.

Staff actions (move, remove, mute) are recorded in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.groups import welcome
from mmooc.groups.apply import eligible_learners
from mmooc.groups.grouping import DAY, GroupingError, circular_span
from mmooc.groups.models import Membership, StudyGroup, active_through
from mmooc.groups.signals import member_placed
from mmooc.learners.models import Learner
from mmooc.lib.timezones import utc_offset_hours

SAME_LANGUAGE, POOLED, OTHER_LANGUAGE = 0, 1, 2


def waiting_learners(cohort: Cohort) -> QuerySet[Learner]:
    """Learners grouping would take now (see eligible_learners), once the cohort has groups."""
    if not StudyGroup.objects.filter(cohort=cohort).exists():
        return Learner.objects.none()
    return eligible_learners(cohort)


def active_membership(learner: Learner) -> Membership | None:
    return Membership.objects.active().filter(learner=learner).select_related("group").first()


def learner_offset(learner: Learner, cohort: Cohort) -> float:
    return zone_offset(learner.timezone, cohort)


def zone_offset(zone: str, cohort: Cohort) -> float:
    """A zone's UTC offset on the cohort's start date, in hours."""
    try:
        return utc_offset_hours(zone, cohort.start_date)
    except (ValueError, KeyError, OSError):  # an unknown zone counts as UTC, as in grouping
        return 0.0


def distance_hours(offset: float, group: StudyGroup) -> float:
    """Hours between an offset and the arc of the day a group covers (0 inside it)."""
    start, end = group.offset_start % DAY, group.offset_end % DAY
    point = offset % DAY
    if (point - start) % DAY <= (end - start) % DAY:
        return 0.0
    return min((start - point) % DAY, (point - end) % DAY)


def _language_rank(group: StudyGroup, learner: Learner) -> int:
    if group.pooled:
        return POOLED
    return SAME_LANGUAGE if group.language == learner.language else OTHER_LANGUAGE


def groups_with_room(cohort: Cohort) -> list[tuple[StudyGroup, int]]:
    """The cohort's groups below their capacity, each with its number of active members."""
    sized = StudyGroup.objects.filter(cohort=cohort).annotate(
        size=Count("memberships", filter=active_through("memberships")))
    return [(g, g.size) for g in sized if g.size < g.capacity]


def place_late_joiner(learner: Learner) -> Membership | None:
    """Put a learner confirmed after grouping in the nearest group with room, and tell them.

    Nearest means the same language first (then a pooled group, then any), then the
    fewest hours from the group's time zones, then the smallest group. None: they wait.
    """
    cohort = learner.cohort
    if not waiting_learners(cohort).filter(pk=learner.pk).exists():
        return None
    offset = learner_offset(learner, cohort)
    ranked = sorted(groups_with_room(cohort), key=lambda gs: (
        _language_rank(gs[0], learner), distance_hours(offset, gs[0]), gs[1], gs[0].number))
    for candidate, _ in ranked:
        with transaction.atomic():
            group = StudyGroup.objects.select_for_update().get(pk=candidate.pk)
            size = Membership.objects.active().filter(group=group).count()
            if size >= group.capacity:
                continue  # filled up meanwhile
            membership = Membership.objects.create(group=group, learner=learner)
            welcome.send_joined(learner, group, size + 1)
            _announce_placed(membership)
            return membership
    return None


def _announce_placed(membership: Membership) -> None:
    transaction.on_commit(lambda: member_placed.send(sender=Membership, membership=membership))


def leave(learner: Learner) -> Membership | None:
    """The learner leaves their group (from their page or a group mail's unsubscribe link)."""
    membership = active_membership(learner)
    if membership is not None:
        _end(membership)
    return membership


def _end(membership: Membership) -> None:
    membership.left_at = timezone.now()
    Membership.objects.active().filter(pk=membership.pk).update(left_at=membership.left_at)


def regroup(learners: list[Learner], group: StudyGroup) -> list[Membership]:
    """Learners into `group`, each leaving the group they are in (keeping their mute and delivery
    choices): a merge or a re-seeding of quiet groups. Inside the caller's transaction; it audits."""
    current = {m.learner_id: m for m in Membership.objects.active().select_for_update()
               .filter(learner__in=learners)}
    joined = []
    for learner in learners:
        before = current.get(learner.pk)
        if before is not None and before.group_id == group.pk:
            joined.append(before)
            continue
        if before is not None:
            _end(before)
        joined.append(Membership.objects.create(
            group=group, learner=learner, muted=before.muted if before else False,
            delivery=before.delivery if before else Membership.EACH))
    return joined


def close(group: StudyGroup) -> None:
    """No late joiner is placed in the group any more (its members have moved on)."""
    StudyGroup.objects.filter(pk=group.pk).update(capacity=0)
    group.capacity = 0


def refit(group: StudyGroup) -> None:
    """The group's arc of the day and span after its members changed; room for at least them."""
    zones = Membership.objects.active().filter(group=group).values_list("learner__timezone", flat=True)
    offsets = [zone_offset(zone, group.cohort) for zone in zones]
    group.offset_start, group.offset_end = arc(offsets)
    group.span_hours = circular_span(offsets)
    group.capacity = max(group.capacity, len(offsets))
    group.save(update_fields=["offset_start", "offset_end", "span_hours", "capacity"])


def arc(offsets: list[float]) -> tuple[float, float]:
    """(first, last) offset going east around the narrowest arc of the day holding all of them."""
    original = {o % DAY: o for o in offsets}  # each point as an offset a zone has (UTC+13, not −11)
    points = sorted(original)
    if not points:
        return 0.0, 0.0
    gaps = [(points[(i + 1) % len(points)] - p) % DAY or DAY for i, p in enumerate(points)]
    widest = max(range(len(points)), key=lambda i: gaps[i])
    return original[points[(widest + 1) % len(points)]], original[points[widest]]


def move(learner: Learner, group: StudyGroup, actor: Any) -> Membership:
    """Staff move a learner to another group of their cohort (or into one, if in none)."""
    if group.cohort_id != learner.cohort_id:
        raise GroupingError(f"{group.name} belongs to another cohort than {learner.email}.")
    with transaction.atomic():
        current = Membership.objects.active().select_for_update().filter(learner=learner).first()
        if current is not None and current.group_id == group.pk:
            return current
        if current is not None:
            _end(current)
        membership = Membership.objects.create(
            group=group, learner=learner, muted=current.muted if current else False,
            delivery=current.delivery if current else Membership.EACH)
        source = current.group.name if current else "no group"
        record(actor, "member.moved", membership, f"{learner.email} moved from {source} to {group.name}",
               learner=str(learner.public_id), from_group=current.group_id if current else None,
               to_group=group.pk)
    return membership


def remove(membership: Membership, actor: Any) -> None:
    """Staff take a member out of their group."""
    with transaction.atomic():
        if membership.left_at is not None:
            return
        _end(membership)
        record(actor, "member.removed", membership,
               f"{membership.learner.email} removed from {membership.group.name}",
               learner=str(membership.learner.public_id), group=membership.group_id)


def set_muted(membership: Membership, muted: bool, actor: Any) -> None:
    """A muted member stays in the group and receives its mail, but their posts are not relayed."""
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(muted=muted)
        membership.muted = muted
        verb = "muted" if muted else "unmuted"
        record(actor, "member.muted", membership, f"{membership.learner.email} {verb} in {membership.group.name}",
               learner=str(membership.learner.public_id), group=membership.group_id, muted=muted)


def set_delivery(membership: Membership, delivery: str) -> None:
    """Each post as it comes, or a daily digest."""
    if delivery not in (Membership.EACH, Membership.DIGEST):
        raise GroupingError(f"Delivery must be {Membership.EACH!r} or {Membership.DIGEST!r}, not {delivery!r}.")
    Membership.objects.filter(pk=membership.pk).update(delivery=delivery)
    membership.delivery = delivery
