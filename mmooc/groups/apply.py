"""Applying grouping to a cohort: the groups, their memberships and welcome emails, at once.

Everything is written in one transaction (groups, memberships, the audit entry and the
welcome emails' outbox rows), so a failure leaves the cohort as it was.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.groups import welcome
from mmooc.groups.grouping import GroupingError, GroupSettings, Plan, Pool, ProposedGroup, make_groups, plan_groups
from mmooc.groups.models import GroupCheck, Grouping, GroupingPolicy, Membership, StudyGroup
from mmooc.groups.signals import groups_formed
from mmooc.learners.models import Learner
from mmooc.lib import bulk, periodic
from mmooc.lib.ahead import cycle_collection_paused
from mmooc.lib.counts import counted

Progress = Callable[[int, int], None]  # (groups done, groups in all)
LOCAL_PART_MAX = 64
MAX_MIN_GROUP = 1000


def eligible_learners(cohort: Cohort) -> QuerySet[Learner]:
    """Confirmed learners who want a group and are in none; with the group check, those who said yes.

    Learners confirmed after the last "do you still want a group?" email were never asked,
    so their choice at signup stands.
    """
    in_group = Membership.objects.active().filter(learner=OuterRef("pk"))
    qs = (Learner.objects.filter(cohort=cohort).confirmed().wanting_group()
          .exclude(group_confirmed=False).filter(~Exists(in_group)))
    if cohort.confirm_group_wish:
        last = GroupCheck.objects.filter(cohort=cohort).order_by("-sent_at").first()
        asked = Q(group_confirmed=True)
        if last is not None:
            asked |= Q(confirmed_at__gt=last.sent_at)
        qs = qs.filter(asked)
    return qs


def minimum_group_size(cohort: Cohort) -> int:
    """The cohort's minimum group size: its own, or the site's (MMOOC_MIN_GROUP_SIZE)."""
    own = GroupingPolicy.objects.filter(cohort=cohort).values_list("min_group_size", flat=True).first()
    return own or settings.GROUP_MIN_SIZE


def set_minimum_group_size(cohort: Cohort, size: int | None, actor: Any = None) -> None:
    """Keep `size` as the cohort's minimum group size (None: the site's again), audited."""
    if size is not None and not 1 <= size <= MAX_MIN_GROUP:
        raise GroupingError(f"The minimum group size must be between 1 and {MAX_MIN_GROUP}.")
    before = minimum_group_size(cohort)
    GroupingPolicy.objects.update_or_create(cohort=cohort, defaults={"min_group_size": size,
                                                                     "updated_at": timezone.now()})
    after = minimum_group_size(cohort)
    record(actor, "grouping.min_size", cohort,
           f"Minimum group size of {cohort.slug}: {before} → {after}"
           + ("" if size is not None else " (the site's)"),
           cohort=cohort.slug, before=before, after=after)


def group_settings(cohort: Cohort, target_size: int | None = None, min_group: int | None = None) -> GroupSettings:
    return GroupSettings(target_size=target_size or cohort.course.group_size, start_date=cohort.start_date,
                         min_group=min_group or minimum_group_size(cohort))


def candidates(cohort: Cohort, *, lock: bool = False) -> Pool:
    """The learners grouping would place now, as a compact pool. With `lock` (inside apply's
    transaction), on PostgreSQL they are also locked against deletion until it ends."""
    pool = Pool()
    pool.extend(eligible_rows(cohort, ("id", "timezone", "language"), lock=lock))
    return pool


READ_CHUNK = 10_000  # rows per fetch when reading the eligible learners


IDS_CHUNK = 900  # ids per IN list (SQLite's limit on parameters)


def eligible_rows(cohort: Cohort, fields: tuple[str, ...], *, lock: bool = False) -> Iterator[tuple[Any, ...]]:
    """The eligible learners' `fields`, READ_CHUNK rows per fetch, as plain tuples.

    Once the cohort has groups, most of its learners are members, and those still eligible
    are found by their ids first: the ids of learners wanting a group and those of the
    active members, each read from an index alone (learner_cohort_wanting_group,
    one_active_membership), then the rows of those found. Reading every learner's row to
    find none cost seconds at a million.

    On PostgreSQL, with `lock`, each row is read FOR KEY SHARE: the learner cannot be deleted
    before the grouping commits (what a foreign key check would hold; see _check_memberships).
    """
    qs = eligible_learners(cohort).order_by().values_list(*fields)
    if not lock and StudyGroup.objects.filter(cohort=cohort).exists():
        ids = list(eligible_learners(cohort).order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), IDS_CHUNK):
            yield from (Learner.objects.filter(pk__in=ids[start:start + IDS_CHUNK]).order_by("pk")
                        .values_list(*fields))
        return
    if not (lock and connection.vendor == "postgresql"):
        yield from qs.iterator(chunk_size=READ_CHUNK)
        return
    sql, params = qs.query.get_compiler(connection=connection).as_sql()
    table = connection.ops.quote_name(Learner._meta.db_table)
    with connection.chunked_cursor() as cursor:  # a server-side cursor: READ_CHUNK rows in memory at a time
        cursor.execute(f"{sql} FOR KEY SHARE OF {table}", params)
        while rows := cursor.fetchmany(READ_CHUNK):
            yield from rows


def preview(cohort: Cohort, *, target_size: int | None = None, seed: int = 0) -> list[ProposedGroup]:
    """The groups apply_grouping would make now; nothing is written."""
    return make_groups(candidates(cohort), group_settings(cohort, target_size), seed=seed)


def preview_plan(cohort: Cohort, *, target_size: int | None = None, seed: int = 0,
                 min_group: int | None = None) -> Plan:
    """The groups apply_grouping would make now and the learners it would leave waiting, with why."""
    return plan_groups(candidates(cohort), group_settings(cohort, target_size, min_group), seed=seed)


def group_address(cohort: Cohort, number: int) -> str:
    local = f"{cohort.slug}-group-{number}"
    if len(local) > LOCAL_PART_MAX:
        # Long cohort slugs are shortened; the hash keeps two similar slugs apart.
        digest = hashlib.sha256(cohort.slug.encode()).hexdigest()[:6]
        local = f"{cohort.slug[:LOCAL_PART_MAX - 20]}-{digest}-group-{number}"
    return f"{local}@{settings.LIST_DOMAIN}"


def apply_grouping(cohort: Cohort, *, target_size: int | None = None, seed: int = 0, actor: Any = None,
                   progress: Progress | None = None, welcome_now: bool = True,
                   min_group: int | None = None) -> Grouping:
    """Group every eligible learner of the cohort, write it all, and queue the welcome emails.

    The groups and memberships are written in one transaction; the welcome emails follow in
    short transactions of a few groups each, so a large cohort never holds the database for
    long, and each group records when its welcome was queued: welcomes interrupted by a
    failure are queued by the next call (or `mmooc group apply`), never twice.

    With `welcome_now=False` (the staff page) the welcome emails are left to the periodic
    job `welcome.queue_pending`, which the delivery engine's processes run every few seconds:
    the call returns once the groups are written, and the page shows the welcomes still to
    write.
    """
    config = group_settings(cohort, target_size, min_group)
    if welcome_now:
        welcome.send_pending_welcomes(cohort)
    # A million candidates are read and grouped in Python: no cyclic garbage collection over
    # them meanwhile (lib/ahead.py).
    with cycle_collection_paused(), transaction.atomic():
        # Two staff members applying at once must not group the same learners twice.
        Cohort.objects.select_for_update().filter(pk=cohort.pk).first()
        found = candidates(cohort, lock=True)
        proposed = make_groups(found, config, seed=seed)
        grouping = Grouping.objects.create(
            cohort=cohort, seed=seed, target_size=config.target_size, min_size=config.smallest,
            max_size=config.largest, min_group=config.floor, learner_count=sum(g.size for g in proposed),
            created_by=actor if getattr(actor, "is_authenticated", False) else None)
        groups = _create_groups(cohort, grouping, proposed, config)
        _create_memberships(groups, proposed)
        if connection.vendor != "postgresql":  # PostgreSQL: the learners were read FOR KEY SHARE
            _check_memberships(grouping)
        record(actor, "grouping.applied", grouping,
               f"{counted(len(groups), 'group', 'groups')} formed for "
               f"{counted(grouping.learner_count, 'learner', 'learners')} in {cohort.slug}",
               cohort=cohort.slug, groups=len(groups), learners=grouping.learner_count, seed=seed,
               target_size=config.target_size)
        transaction.on_commit(lambda: groups_formed.send(sender=Grouping, cohort=cohort, grouping=grouping,
                                                         groups=groups))
    if not welcome_now:
        periodic.wake(welcome.JOB)
        return grouping
    del found, proposed
    # What the welcome emails need of each member is read a few hundred groups at a time, as
    # they are written: a million members at once would take hundreds of megabytes.
    welcome.send_welcomes(cohort, groups, progress=progress, by_learner=True)
    return grouping


def _create_groups(cohort: Cohort, grouping: Grouping, proposed: list[ProposedGroup],
                   config: GroupSettings) -> list[StudyGroup]:
    """The groups, written in one bulk insert (COPY on PostgreSQL), then their ids read back by
    number in one query: at 25,000 groups, bulk_create's model instances and batched INSERT …
    RETURNING cost seconds."""
    first = (StudyGroup.objects.filter(cohort=cohort).aggregate(n=Max("number"))["n"] or 0) + 1
    now = timezone.now()
    groups = []
    for offset, p in enumerate(proposed):
        number = first + offset
        groups.append(StudyGroup(
            cohort=cohort, grouping=grouping, public_id=uuid.uuid4(), number=number, name=f"Group {number}",
            address=group_address(cohort, number), language=p.language, pooled=p.pooled,
            span_hours=p.span_hours, capacity=max(config.capacity, p.size),
            offset_start=p.first_offset, offset_end=p.last_offset, welcomed_at=None, created_at=now))
    bulk.insert(StudyGroup, GROUP_FIELDS, ([getattr(g, f"{name}_id" if name in ("cohort", "grouping") else name)
                                            for name in GROUP_FIELDS] for g in groups))
    ids = dict(StudyGroup.objects.filter(grouping=grouping).values_list("number", "pk"))
    for g in groups:
        g.pk = ids[g.number]
        g._state.adding, g._state.db = False, StudyGroup.objects.db
    return groups


GROUP_FIELDS = ("cohort", "grouping", "public_id", "number", "name", "address", "language", "pooled", "span_hours",
                "capacity", "offset_start", "offset_end", "welcomed_at", "created_at")


def _check_memberships(grouping: Grouping) -> None:
    """The memberships' foreign keys, checked for the whole grouping in one query (the database
    does not check them row by row: see Membership): every member is a learner of the cohort.
    SQLite only: a learner deleted between the read and the first write would otherwise be
    missed. On PostgreSQL the learners were read FOR KEY SHARE: none can be deleted before the
    grouping commits, and the check (an anti-join over the memberships) is not needed."""
    learner = Learner.objects.filter(pk=OuterRef("learner_id"), cohort_id=grouping.cohort_id)
    lost = Membership.objects.filter(~Exists(learner), group__grouping=grouping).count()  # an anti-join
    if lost:
        raise IntegrityError(f"{lost} memberships of the grouping name no learner of the cohort")


def _create_memberships(groups: list[StudyGroup], proposed: list[ProposedGroup]) -> None:
    """All memberships in one bulk write: model instances would cost more than the insert.

    On PostgreSQL the pairs (group, learner) are written as COPY text a group at a time (a
    million memberships differ only by their two ids, so each group's rows are one join of
    its member ids) into a temporary table, and from there into the memberships in the order
    of their learners. Both indexes by learner (one_active_membership and the foreign key's)
    are then filled from one end to the other; in the groups' order, each entry went to a
    random place of a million-entry index, which took about twice as long (bench/README.md).
    """
    now = timezone.now()
    fields = ("group", "learner", "joined_at", "left_at", "muted", "delivery")
    if connection.vendor != "postgresql":
        bulk.insert(Membership, fields, ((g.pk, learner_id, now, None, False, Membership.EACH)
                                         for g, p in zip(groups, proposed, strict=True) for learner_id in p.member_ids))
        return
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {PLACING} (group_id bigint, learner_id bigint) "
                       "ON COMMIT DROP")
        cursor.execute(f"TRUNCATE {PLACING}")
        bulk.copy_text_into(PLACING, ("group_id", "learner_id"), (
            f"{g.pk}\t" + f"\n{g.pk}\t".join(map(str, p.member_ids)) + "\n"
            for g, p in zip(groups, proposed, strict=True) if p.member_ids))
        table = connection.ops.quote_name(Membership._meta.db_table)
        cursor.execute(f"INSERT INTO {table} (group_id, learner_id, joined_at, left_at, muted, delivery) "
                       f"SELECT group_id, learner_id, %s, NULL, false, %s FROM {PLACING} ORDER BY learner_id",
                       [now, Membership.EACH])


PLACING = "groups_placing"  # the temporary table of (group, learner) pairs, PostgreSQL only
