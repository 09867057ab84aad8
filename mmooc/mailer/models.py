from __future__ import annotations

import json
import re
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models
from django.utils import timezone

from mmooc.lib.mailheaders import bare_address


class BytewiseCharField(models.CharField):  # type: ignore[type-arg]  # django-stubs: generic only when checking
    """A CharField that PostgreSQL compares byte by byte (COLLATE "C"), whatever the database's
    locale: for the outbox's addresses, references, statuses and ids, which are matched and
    indexed but never sorted for people. On a database made with a language's locale
    (en_US.UTF-8, say) each index compared a copy's values by that language's rules: a course
    email to a million learners took 33 s to queue instead of 24 s.

    Case-insensitive matches (iexact, icontains) then fold ASCII letters only, as SQLite's
    LIKE always did. SQLite compares bytes anyway: nothing changes there."""

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class JSONTextField(models.JSONField):
    """A JSONField kept as its JSON text on PostgreSQL too, as SQLite keeps every JSONField:
    for a copy's placeholder values, written a million times by a course email and read
    whole by the engine, never searched by key in the database. As jsonb, PostgreSQL parsed
    each copy's context into its binary form when the copy was written (2.5 s of a million
    copies' COPY on a 2-core machine) and printed it back when the engine claimed it.

    Its keys cannot be looked up in a query (context__name=…), on either database: read the
    rows and look in Python, or cast the column to jsonb in SQL of your own."""

    def db_type(self, connection: Any) -> str | None:
        return "text" if connection.vendor == "postgresql" else super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        return json.dumps(value if prepared else self.get_prep_value(value), cls=self.encoder)

    def get_transform(self, name: str) -> Any:
        transform = models.Field.get_transform(self, name)
        if transform is None:
            raise FieldError(f"{self.model.__name__}.{self.name} is kept as JSON text: its keys "
                             f"({name!r}) cannot be looked up in a query.")
        return transform


class Message(models.Model):
    """One message written once and sent to many: the deliveries hold the recipients."""

    TRANSACTIONAL, SUBSCRIBED = "transactional", "subscribed"
    KINDS = [(TRANSACTIONAL, "Transactional (confirmation, link)"),
             (SUBSCRIBED, "Subscribed (course mail, group mail)")]
    ACTIVE, PAUSED, CANCELLED = "active", "paused", "cancelled"
    STATES = [(ACTIVE, "Active"), (PAUSED, "Paused"), (CANCELLED, "Cancelled")]

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=KINDS)
    # Who the message is for, as the sender sees it, e.g. "cohort:12"; used for reports and
    # cost estimates without the mailer knowing what a cohort is.
    scope = models.CharField(max_length=64, blank=True)
    # What sent it: "confirmation", "welcome", "course-email", "relay", ...
    tag = models.CharField(max_length=32, blank=True)
    # List-Id of the stream this message belongs to, e.g. "py-3.announce.course.example.org".
    list_id = models.CharField(max_length=255, blank=True)
    list_name = models.CharField(max_length=200, blank=True)
    from_email = models.CharField(max_length=320)
    reply_to = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=998)
    # Markdown with {{ name }} placeholders filled from each delivery's context.
    body = models.TextField(blank=True)
    footer = models.TextField(blank=True, help_text="Organizer contact and postal line.")
    headers = models.JSONField(default=dict, blank=True)
    # Values each copy gets from its ref when it is sent, not kept in its row (a kind
    # registered in mmooc.mailer.refvalues, e.g. a learner's signed links); "" for none.
    ref_values = models.CharField(max_length=32, blank=True, default="")
    # A message prepared elsewhere (a relayed group post): sent as these bytes, with the
    # per-recipient headers added at send time.
    raw = models.BinaryField(null=True, blank=True)
    # The Message-ID every copy carries, kept once here: a relayed post's own (its header in
    # `raw`). Its copies' rows then keep none (Delivery.rfc_message_id), nor an entry each in
    # delivery_message_id at each of their three writes. "" for every other message, and for
    # posts whose copies were written before it was kept here (their rows keep it).
    rfc_message_id = BytewiseCharField(max_length=998, blank=True, default="")
    state = models.CharField(max_length=16, choices=STATES, default=ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Reports and cost per cohort.
            models.Index(fields=["scope", "tag"], name="message_scope_tag"),
            # A relayed post's copies found by their Message-ID (with_message_id).
            models.Index(fields=["rfc_message_id"], name="message_rfc_message_id",
                         condition=~models.Q(rfc_message_id="")),
        ]

    def __str__(self) -> str:
        return self.subject

    def id_domain(self) -> str:
        """The domain of its copies' Message-IDs: the From domain (aligned with DKIM and DMARC)."""
        return bare_address(self.from_email).rpartition("@")[2].lower() or settings.LIST_DOMAIN

    def copy_message_id(self, delivery_id: int) -> str:
        """The Message-ID of the copy `delivery_id` of this message, when its row keeps none
        (see Delivery.rfc_message_id): the message's public id and the copy's own id."""
        return made_message_id(self.public_id.hex, delivery_id, self.id_domain())


def made_message_id(message_hex: str, delivery_id: int, domain: str) -> str:
    """Message.copy_message_id from its pieces, the message's public id in hex (the engine
    and the export make many)."""
    return f"<{message_hex}.{delivery_id:x}@{domain}>"


# A Message-ID made by Message.copy_message_id: the message's public id (32 hex digits) and the copy's.
_COPY_MESSAGE_ID = re.compile(r"<?([0-9a-fA-F]{32})\.([0-9a-fA-F]{1,15})@[^<>@\s]+>?")


def _parse_copy_message_id(value: str) -> tuple[uuid.UUID, int] | None:
    """The message's public id and the copy's id in a Message-ID made by copy_message_id, or
    None for any other value."""
    found = _COPY_MESSAGE_ID.fullmatch(value.strip())
    return (uuid.UUID(found.group(1)), int(found.group(2), 16)) if found else None


def with_message_id(value: str) -> models.Q:
    """Copies whose Message-ID is `value`, given with or without its angle brackets: kept in
    the row (delivery_message_id), kept by their message (a relayed post's: its copies found
    by message_rfc_message_id, then by their message), or made from the ids (found by the
    copy's primary key)."""
    bare = value.strip().strip("<>").strip()
    if not bare:
        return models.Q(pk__in=[])
    forms = [f"<{bare}>", bare]
    kept = models.Q(rfc_message_id__in=forms)
    # The message's ids as a list, not a subquery: PostgreSQL cannot scan an index for an IN
    # (subquery) joined by OR to the other conditions, and would read every copy. A lookup
    # of posts' Message-IDs, rare and one row or none.
    posts = list(Message.objects.filter(rfc_message_id__in=forms).values_list("pk", flat=True)[:100])
    if posts:
        kept |= models.Q(message_id__in=posts)
    made = _parse_copy_message_id(bare)
    if made is None:
        return kept
    return kept | models.Q(pk=made[1], rfc_message_id="", message__public_id=made[0])


class Delivery(models.Model):
    """One copy of one message for one recipient: the outbox row."""

    QUEUED, SENDING, SENT, DEFERRED, FAILED, SUPPRESSED, CANCELLED = (
        "queued", "sending", "sent", "deferred", "failed", "suppressed", "cancelled")
    STATUSES = [(QUEUED, "Queued"), (SENDING, "Sending"), (SENT, "Sent"),
                (DEFERRED, "Deferred"), (FAILED, "Failed"), (SUPPRESSED, "Suppressed"),
                (CANCELLED, "Cancelled")]

    # No index of its own: delivery_once_per_recipient and delivery_progress both begin with
    # it, and every copy written (queued, claimed, sent) would update a third index for nothing.
    # No constraint in the database either: PostgreSQL checks one row at a time, a lookup per
    # copy at commit (about as long as writing the copies). The outbox, the only writer, checks
    # each call's messages once and holds them (FOR KEY SHARE) until its transaction ends;
    # deleting a message cascades in Django.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries", db_index=False,
                                db_constraint=False)
    recipient = BytewiseCharField(max_length=254)
    # Per-recipient variables for the message's placeholders.
    context = JSONTextField(default=dict, blank=True)
    # Opaque reference of the sender's, e.g. a learner's public id.
    ref = BytewiseCharField(max_length=64, blank=True)
    status = BytewiseCharField(max_length=16, choices=STATUSES, default=QUEUED)
    not_before = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The copy's Message-ID when it is not made from the ids (Message.copy_message_id, the same
    # across retries) nor kept by its message (Message.rfc_message_id, a relayed post's own):
    # one written before either was so.
    # Empty for every other copy: a course email's million copies then add nothing to
    # delivery_message_id (2.2 s of their COPY on a 2-core machine). `header_message_id`
    # gives it either way; `with_message_id` finds a copy by it.
    rfc_message_id = BytewiseCharField(max_length=255, blank=True)
    provider_id = BytewiseCharField(max_length=255, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # With MMOOC_EMAIL_URL=outbox: the exact bytes that would have been sent, for /outbox/.
    stored = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["message", "recipient"], name="delivery_once_per_recipient"),
        ]
        indexes = [
            # The engine's claim: due rows by status and time.
            models.Index(fields=["status", "not_before"], name="delivery_due"),
            # Progress counts per message and status.
            models.Index(fields=["message", "status"], name="delivery_progress"),
            # A learner's mail history.
            models.Index(fields=["ref"], name="delivery_ref"),
            # Matching provider events and bounces. Only the copies a provider gave an id: with
            # SMTP none has one, and every row written (queued, claimed, sent: none of them a
            # HOT update, status being indexed) would add an entry for '' to it.
            models.Index(fields=["provider_id"], name="delivery_provider_id", condition=~models.Q(provider_id="")),
            # Only the Message-IDs kept in the row (see rfc_message_id).
            models.Index(fields=["rfc_message_id"], name="delivery_message_id",
                         condition=~models.Q(rfc_message_id="")),
        ]

    def header_message_id(self) -> str:
        """The Message-ID this copy goes out (or went out) with."""
        return self.rfc_message_id or self.message.rfc_message_id or self.message.copy_message_id(self.pk)

    def full_context(self) -> dict[str, str]:
        """The values this copy is filled with: its row's, and those made from its ref when it
        is sent (made now, as the engine makes them: mmooc.mailer.refvalues)."""
        from mmooc.mailer import refvalues

        return refvalues.complete(self.message, self.ref, self.context)


class DeliveryCount(models.Model):
    """Copies of a message in one finished status whose outbox rows the retention job
    deleted (mmooc.mailer.retention): outbox.progress adds them to the rows still there."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="removed_counts")
    status = models.CharField(max_length=16, choices=Delivery.STATUSES)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            # One row per message and status, added to by each pruning batch (an upsert);
            # its index also serves progress() per message.
            models.UniqueConstraint(fields=["message", "status"], name="delivery_count_once"),
        ]


class MessageCounts(models.Model):
    """A message's copies per status as last counted (mmooc.mailer.counts): the pages, the
    command line and the exports read these instead of counting the outbox at every look.
    The counts include the rows the retention job deleted (DeliveryCount)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="counts")
    # Copies per status, a column each so that a cohort's are summed in the database.
    queued = models.PositiveBigIntegerField(default=0)
    sending = models.PositiveBigIntegerField(default=0)
    sent = models.PositiveBigIntegerField(default=0)
    deferred = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    suppressed = models.PositiveBigIntegerField(default=0)
    cancelled = models.PositiveBigIntegerField(default=0)
    next_at = models.DateTimeField(null=True)  # when the earliest copy still waiting is due
    last_sent_at = models.DateTimeField(null=True)
    # Copies were still to send or in flight when counted: the periodic job counts it again.
    open = models.BooleanField(default=True)
    counted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The periodic job's list of messages still going out.
            models.Index(fields=["open"], name="message_counts_open", condition=models.Q(open=True)),
        ]


class CountsMark(models.Model):
    """The highest outbox row id the job mailer.counts has looked at: a message given copies
    after it is counted again. One row."""

    name = models.CharField(max_length=32, primary_key=True)
    through_id = models.BigIntegerField(default=0)


class EngineLock(models.Model):
    """The one engine allowed on SQLite: who holds it and when it last said it was alive."""

    name = models.CharField(max_length=32, primary_key=True)
    owner = models.CharField(max_length=255)
    heartbeat = models.DateTimeField()


class EngineHeartbeat(models.Model):
    """Every delivery engine that ran lately, on either database: who, since when, and when it
    last went round its loop. /healthz and /metrics read the latest; rows a day old are removed
    when an engine starts. A handful of rows: no index beyond the key."""

    owner = models.CharField(max_length=255, primary_key=True)  # host:pid:random, as Engine.owner
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now)


class RateBucket(models.Model):
    """A token bucket shared by every worker: messages per second for one provider."""

    key = models.CharField(max_length=64, primary_key=True)
    tokens = models.FloatField(default=0.0)
    # Seconds since the epoch, as a float: refills are computed from it.
    updated = models.FloatField(default=0.0)


class Suppression(models.Model):
    """An address that is never mailed, with why and since when.

    Once the learner behind it erased their data, the row keeps only a keyed hash of the
    address (HASHED + hex, see mailer.suppression.keyed_hash), which every check matches.
    """

    HASHED, HASHED_LABEL = "hmac-sha256:", "erased learner (hashed)"

    HARD_BOUNCE, SOFT_BOUNCES, COMPLAINT, UNSUBSCRIBE, MANUAL = (
        "hard-bounce", "soft-bounces", "complaint", "unsubscribe", "manual")
    REASONS = [(HARD_BOUNCE, "Hard bounce"), (SOFT_BOUNCES, "Repeated soft bounces"),
               (COMPLAINT, "Spam complaint"), (UNSUBSCRIBE, "Unsubscribed from all mail"),
               (MANUAL, "Added by staff")]

    address = models.CharField(max_length=254, unique=True,
                               help_text="Lower-cased; for an erased learner, only a keyed hash of it (hmac-sha256:…).")
    reason = models.CharField(max_length=16, choices=REASONS)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.shown_address

    @property
    def hashed(self) -> bool:
        return self.address.startswith(self.HASHED)

    @property
    def shown_address(self) -> str:
        """The address as pages, exports and the API show it."""
        return self.HASHED_LABEL if self.hashed else self.address


class Event(models.Model):
    """What a provider or a bounce told us about a delivery (or about mail we cannot match)."""

    provider = models.CharField(max_length=32)
    event_type = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="events")
    description = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # A provider repeating an event changes nothing.
            models.UniqueConstraint(fields=["provider", "event_id"], condition=~models.Q(event_id=""),
                                    name="event_once"),
        ]
        indexes = [
            # Funnel counts per delivery and type.
            models.Index(fields=["delivery", "event_type"], name="event_delivery_type"),
            # Soft bounces of one address within the window.
            models.Index(fields=["recipient", "occurred_at"], name="event_recipient_time"),
        ]
