"""Who is in which group after grouping: late joiners, leaving, and staff moderation.

Staff actions (move, remove, mute) are recorded in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.groups import welcome
from mmooc.groups.apply import eligible_learners
from mmooc.groups.grouping import DAY, GroupingError, circular_span, format_offset
from mmooc.groups.models import Membership, StudyGroup, active_through
from mmooc.groups.signals import member_placed
from mmooc.learners import lifecycle
from mmooc.learners.models import Learner, LearnerEvent
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
    for candidate, _size in ranked:
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
        current, membership = _move(learner, group)
        if current is None or current.group_id != group.pk:
            source = current.group.name if current else "no group"
            record(actor, "member.moved", membership, f"{learner.email} moved from {source} to {group.name}",
                   learner=str(learner.public_id), from_group=current.group_id if current else None,
                   to_group=group.pk)
    return membership


def _move(learner: Learner, group: StudyGroup) -> tuple[Membership | None, Membership]:
    """The learner's membership ends and one in `group` starts, with the same mute and delivery
    choices (nothing changes when they are in it already): (the one before, the one now)."""
    current = Membership.objects.active().select_for_update().filter(learner=learner).select_related("group").first()
    if current is not None and current.group_id == group.pk:
        return current, current
    if current is not None:
        _end(current)
    membership = Membership.objects.create(
        group=group, learner=learner, muted=current.muted if current else False,
        delivery=current.delivery if current else Membership.EACH)
    return current, membership


# A group is near enough to a member when their UTC offset is at most this many hours outside
# the arc of the day the group covers: the closeness quiet groups' remedies allow too.
NEAR_HOURS = 3.0


def nearer_group(learner: Learner) -> StudyGroup | None:
    """The group to offer a member whose group is far from their time zone now (after they
    changed it): the nearest one with room, of their group's language or a mixed-language one,
    that is near their zone. None when their group is near enough, or no other group is."""
    current = active_membership(learner)
    if current is None or learner.state != Learner.CONFIRMED:
        return None
    cohort = learner.cohort
    offset = learner_offset(learner, cohort)
    if distance_hours(offset, current.group) <= NEAR_HOURS:
        return None
    readable = _language_rank(current.group, learner)
    ranked = sorted(
        ((g, size) for g, size in groups_with_room(cohort)
         if g.pk != current.group_id and distance_hours(offset, g) <= NEAR_HOURS
         and _language_rank(g, learner) <= max(readable, POOLED)),
        key=lambda gs: (_language_rank(gs[0], learner), distance_hours(offset, gs[0]), gs[1], gs[0].number))
    return ranked[0][0] if ranked else None


def offsets_label(group: StudyGroup) -> str:
    """Where the group is on the clock: "UTC+5:30 to UTC+7", or one offset."""
    first, last = format_offset(group.offset_start), format_offset(group.offset_end)
    return first if first == last else f"{first} to {last}"


def move_nearer(learner: Learner, number: int, via: str = "page") -> Membership:
    """The member takes the offer of a group nearer their time zone (`nearer_group`, asked again
    now); GroupingError when that offer no longer stands, and nothing changes."""
    with transaction.atomic():
        Learner.objects.select_for_update().filter(pk=learner.pk).first()  # one move at a time
        offered = nearer_group(learner)
        if offered is None or offered.number != number:
            raise GroupingError(_("This offer no longer stands: your page shows your group as it is now."))
        group = StudyGroup.objects.select_for_update().get(pk=offered.pk)
        if Membership.objects.active().filter(group=group).count() >= group.capacity:
            raise GroupingError(_("This offer no longer stands: your page shows your group as it is now."))
        before, membership = _move(learner, group)
        source = before.group.name if before else ""
        lifecycle.record(learner, LearnerEvent.GROUP_MOVED, via, note=f"{source} → {group.name}")
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


def set_delivery(membership: Membership, delivery: str, via: str = "") -> bool:
    """Each post as it comes, a daily digest, or web only (no group mail: the archive), from
    the next post on; True when it changed. With `via` (the learner's own choice), the
    change joins the learner's history."""
    if delivery not in dict(Membership.DELIVERY):
        choices = ", ".join(repr(code) for code, _label in Membership.DELIVERY)
        raise GroupingError(f"Delivery must be one of {choices}, not {delivery!r}.")
    with transaction.atomic():
        changed = bool(Membership.objects.filter(pk=membership.pk).exclude(delivery=delivery).update(delivery=delivery))
        membership.delivery = delivery
        if changed and via:
            lifecycle.record(membership.learner, LearnerEvent.GROUP_MAIL, via, note=delivery)
    return changed
