"""Outgoing webhooks: the endpoints organizers register, the events, and one delivery per pair."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from mmooc.courses.models import Cohort

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


class Endpoint(models.Model):
    """A URL an organizer registered to be told of events, signed with its own secret."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    # The event types it is sent (hooks.events.TYPES).
    events = models.JSONField(default=list)
    # None: events of every cohort (and those of no cohort, such as complaints from unknown addresses).
    cohort = models.ForeignKey(Cohort, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Kept as it is, since every delivery is signed with it; shown once, when made or rotated.
    secret = models.CharField(max_length=100, default=new_secret)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # Since when every attempt has failed (None after a success): sustained failure disables it.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def wants(self, event_type: str, cohort_id: int | None) -> bool:
        return event_type in self.events and (self.cohort_id is None or self.cohort_id == cohort_id)


class HookEvent(models.Model):
    """Something that happened, as the endpoints are told it: one body, whatever the endpoint."""

    public_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    type = models.CharField(max_length=40)
    cohort = models.ForeignKey(Cohort, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The learner the event is about (their public id), so that an erasure can take their name and
    # address out of the events kept for them.
    learner = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Erasure: the events about one learner.
            models.Index(fields=["learner"], name="hookevent_learner"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    def payload(self) -> dict[str, object]:
        return {"id": self.public_id, "type": self.type, "created": self.created_at.isoformat(),
                "data": self.data}


class HookDelivery(models.Model):
    """One event for one endpoint: due, being tried, delivered, or given up."""

    PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"
    STATUSES = [(PENDING, "Pending"), (DELIVERED, "Delivered"), (FAILED, "Gave up"),
                (CANCELLED, "Cancelled")]

    event = models.ForeignKey(HookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When it is next tried; a sender that claims it moves this past the attempt's end, so a
    # crash mid-attempt leaves it due again later, never lost.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="hookdelivery_once"),
        ]
        indexes = [
            # The sender: pending deliveries that are due, oldest first.
            models.Index(fields=["status", "next_attempt_at"], name="hookdelivery_due"),
            # The delivery log: an endpoint's deliveries, newest first.
            models.Index(fields=["endpoint", "-created_at"], name="hookdelivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
