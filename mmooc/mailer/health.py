"""How the delivery engine is doing, as /healthz and /metrics report it.

    beat(owner)       an engine says it is alive (every engine, every HEARTBEAT_EVERY)
    state()           {"last_heartbeat": …, "oldest_due": …, "stale": bool, …} for /healthz
    outbox_metrics()  the gauges of /metrics: queue depth by state, oldest due copy, engines

Every read here is served by an index, so it stays cheap with millions of deliveries:
queue depth counts only the unfinished states through `delivery_due` (status,
not_before), never the sent rows; the oldest due copy is the first row of that same
index for each due status, skipping copies of paused messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from mmooc.mailer.models import Delivery, EngineHeartbeat, Message

FORGET_AFTER = timedelta(days=1)  # heartbeat rows of engines gone this long are removed
UNFINISHED = (Delivery.QUEUED, Delivery.DEFERRED, Delivery.SENDING)


def beat(owner: str, *, starting: bool = False) -> None:
    now = timezone.now()
    if starting:
        EngineHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()
    if not EngineHeartbeat.objects.filter(owner=owner).update(beat_at=now):
        EngineHeartbeat.objects.create(owner=owner, started_at=now, beat_at=now)


def last_heartbeat() -> datetime | None:
    last: datetime | None = EngineHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]
    return last


def oldest_due(now: datetime | None = None) -> datetime | None:
    """The `not_before` of the copy that has waited longest to be claimed, if any is due."""
    now = now or timezone.now()
    firsts = []
    for status in (Delivery.QUEUED, Delivery.DEFERRED):  # one ordered index range each
        first = (Delivery.objects.filter(status=status, not_before__lte=now, message__state=Message.ACTIVE)
                 .order_by("not_before").values_list("not_before", flat=True).first())
        if first is not None:
            firsts.append(first)
    return min(firsts, default=None)


def queue_depth() -> dict[str, int]:
    rows = (Delivery.objects.filter(status__in=UNFINISHED).values_list("status")
            .annotate(n=Count("id")).order_by())
    return {status: 0 for status in UNFINISHED} | {status: n for status, n in rows}


def _age(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else max(0.0, round((now - then).total_seconds(), 3))


def state(now: datetime | None = None) -> dict[str, Any]:
    """The engine part of /healthz; `stale` when mail is due and no engine has beaten lately."""
    now = now or timezone.now()
    last, due = last_heartbeat(), oldest_due(now)
    limit = settings.HEALTH_ENGINE_STALE
    quiet = last is None or (now - last).total_seconds() > limit
    return {
        "last_heartbeat": last.isoformat() if last else None,
        "heartbeat_age_seconds": _age(last, now),
        "oldest_due": due.isoformat() if due else None,
        "oldest_due_age_seconds": _age(due, now),
        "stale_after_seconds": limit,
        "stale": due is not None and quiet,
    }


def outbox_metrics() -> Iterator[Metric]:
    now = timezone.now()
    depth = GaugeMetricFamily("mmooc_outbox_deliveries", "Copies not yet finished, by delivery state.",
                              labels=["state"])
    for status, n in queue_depth().items():
        depth.add_metric([status], n)
    yield depth
    yield GaugeMetricFamily("mmooc_outbox_oldest_due_age_seconds",
                            "How long the oldest copy due now has waited to be claimed (0: none is due).",
                            value=_age(oldest_due(now), now) or 0.0)
    last = last_heartbeat()
    yield GaugeMetricFamily("mmooc_engine_heartbeat_age_seconds",
                            "Seconds since any delivery engine last went round its loop (+Inf: none ever did).",
                            value=float("inf") if last is None else _age(last, now) or 0.0)
    alive = EngineHeartbeat.objects.filter(beat_at__gte=now - timedelta(seconds=settings.HEALTH_ENGINE_STALE))
    yield GaugeMetricFamily("mmooc_engines", "Delivery engines that beat within MMOOC_HEALTH_ENGINE_STALE.",
                            value=alive.count())
