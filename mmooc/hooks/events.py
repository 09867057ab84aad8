"""Events for the endpoints: stored with one delivery per endpoint that wants them, in the
transaction of what happened, and sent by the periodic job `hooks.deliver` once committed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from mmooc.hooks.models import Endpoint, HookDelivery, HookEvent
from mmooc.lib import periodic
from mmooc.lib.compiled import CompiledQuery

JOB = "hooks.deliver"

LEARNER_CONFIRMED = "learner.confirmed"
LEARNER_LEFT = "learner.left"
LEARNER_ERASED = "learner.erased"
GROUP_FORMED = "group.formed"
GROUP_JOINED = "group.joined"
POST_RELAYED = "post.relayed"
CHECKIN_RECORDED = "checkin.recorded"
EMAIL_SENT = "email.sent"
COMPLAINT = "complaint"
SENDING_PAUSED = "sending.paused"

TYPES: list[tuple[str, str]] = [
    (LEARNER_CONFIRMED, "A learner confirmed their signup (or came back, or was imported as confirmed)"),
    (LEARNER_LEFT, "A learner left the cohort"),
    (LEARNER_ERASED, "A learner's data was erased"),
    (GROUP_FORMED, "A study group was formed (grouping applied)"),
    (GROUP_JOINED, "A learner confirmed late was placed in a study group"),
    (POST_RELAYED, "A post was relayed to a study group"),
    (CHECKIN_RECORDED, "A learner checked in"),
    (EMAIL_SENT, "A course email finished sending"),
    (COMPLAINT, "A recipient marked our mail as spam"),
    (SENDING_PAUSED, "Sending of a message was paused (by staff or the complaint-rate guard)"),
]
TYPE_NAMES = {name for name, _ in TYPES}


@dataclass(frozen=True)
class Happening:
    """What one event says: its data, the cohort it belongs to, the learner it is about."""

    data: dict[str, Any]
    cohort_id: int | None = None
    learner: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# Every relayed post asks: compiled once (mmooc.lib.compiled).
_ACTIVE = CompiledQuery(lambda: Endpoint.objects.filter(active=True))


def emit(event_type: str, data: dict[str, Any], *, cohort_id: int | None = None, learner: str = "") -> int:
    """Store the event for every active endpoint that wants it; returns the deliveries queued."""
    return emit_many(event_type, [Happening(data, cohort_id, learner)])


def wanted(event_type: str, cohort_id: int | None) -> bool:
    """Whether any active endpoint wants this type of event from this cohort (one query)."""
    return any(e.wants(event_type, cohort_id) for e in Endpoint.objects.filter(active=True))


def emit_many(event_type: str, happenings: Iterable[Happening]) -> int:
    """Many events of one type at once (the groups of a grouping): two inserts, whatever their number."""
    assert event_type in TYPE_NAMES, event_type
    endpoints = [e for e in _ACTIVE.objects() if event_type in e.events]
    if not endpoints:
        return 0  # nothing is kept that no one will be sent
    pairs = []
    for h in happenings:
        wanting = [e for e in endpoints if e.wants(event_type, h.cohort_id)]
        if wanting:
            pairs.append((HookEvent(type=event_type, cohort_id=h.cohort_id, learner=h.learner, data=h.data),
                          wanting))
    if not pairs:
        return 0
    with transaction.atomic():
        events = HookEvent.objects.bulk_create([event for event, _ in pairs], batch_size=1000)
        rows = [HookDelivery(event=event, endpoint=e) for event, (_, wanting) in zip(events, pairs, strict=True)
                for e in wanting]
        HookDelivery.objects.bulk_create(rows, batch_size=1000)
        transaction.on_commit(lambda: periodic.wake(JOB))
    return len(rows)
