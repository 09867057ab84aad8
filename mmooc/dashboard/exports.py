"""Streamed exports of a cohort: learners, groups, deliveries with events, group archives, a zip.

Each generator reads rows with `.iterator(chunk_size=…)` and yields text or bytes as it
goes, so memory stays flat whatever the cohort's size. The zip is written to a spooled
temporary file (on disk past a few megabytes) and then streamed.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import OuterRef, Subquery

from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership, StudyGroup
from mmooc.lib.downloads import batched, csv_lines
from mmooc.lists.models import Post
from mmooc.mailer import shown
from mmooc.mailer.models import Delivery, Event, Message, made_message_id

CHUNK = 2000

LEARNER_FIELDS = ["public_id", "email", "name", "timezone", "country", "language", "wants_group",
                  "group_confirmed", "state", "source", "signed_up_at", "confirmed_at", "left_at",
                  "unsubscribed_at", "group_number"]
GROUP_FIELDS = ["group_number", "group_name", "group_address", "group_language", "learner_public_id",
                "learner_name", "learner_email", "learner_timezone", "joined_at", "muted", "delivery"]
DELIVERY_FIELDS = ["message_public_id", "message_tag", "message_subject", "recipient", "ref", "status",
                   "attempts", "not_before", "sent_at", "rfc_message_id", "provider_id", "last_error"]
EVENT_FIELDS = ["event_type", "event_occurred_at", "event_description"]

README = """\
Export of the cohort "{title}" ({slug}) of the course "{course}", made {made} (UTC).

Files
-----
learners.csv     One row per learner who signed up, whatever their state. Columns:
                 {learner_fields}.
                 state is pending (never confirmed), confirmed, left or erased (the person
                 deleted their data; only the row remains). group_number is the learner's
                 current study group, empty when they have none. answers holds the answers to
                 the signup questions as JSON. Times are ISO 8601 in UTC.
learners.json    The same learners as a JSON list of objects, answers as a nested object.
groups.csv       One row per current member of each study group. Columns:
                 {group_fields}.
deliveries.csv   Every copy of every message sent for this cohort (course emails, welcome and
                 confirmation emails), one row per copy and provider event: a copy with three
                 events (delivered, opened, clicked) has three rows, a copy without events has
                 one row with the event columns empty. Columns:
                 {delivery_fields}.
archives/group-N.mbox
                 The posts of study group N, as received, in mbox format (mboxrd quoting);
                 any mail program can open it. Posts held as spam are left out.
"""


# Learners ------------------------------------------------------------------------------


def learners_queryset(cohort: Cohort):  # -> ValuesQuerySet
    group_number = Subquery(Membership.objects.active().filter(learner=OuterRef("pk"))
                            .values("group__number")[:1])
    return (cohort.learners.order_by("id").annotate(group_number=group_number)
            .values_list(*LEARNER_FIELDS, "answers"))


def learners_csv(cohort: Cohort) -> Iterator[str]:
    rows = ([*row[:-1], json.dumps(row[-1], ensure_ascii=False, sort_keys=True)]
            for row in learners_queryset(cohort).iterator(chunk_size=CHUNK))
    return csv_lines([*LEARNER_FIELDS, "answers"], rows)


def learners_json(cohort: Cohort) -> Iterator[str]:
    names = [*LEARNER_FIELDS, "answers"]
    yield "["
    separator = "\n"
    for row in learners_queryset(cohort).iterator(chunk_size=CHUNK):
        yield separator + json.dumps(dict(zip(names, row, strict=True)), cls=DjangoJSONEncoder,
                                     ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


# Groups --------------------------------------------------------------------------------


def groups_csv(cohort: Cohort) -> Iterator[str]:
    rows = (Membership.objects.active().filter(group__cohort=cohort)
            .order_by("group__number", "learner__name", "id")
            .values_list("group__number", "group__name", "group__address", "group__language",
                         "learner__public_id", "learner__name", "learner__email", "learner__timezone",
                         "joined_at", "muted", "delivery"))
    return csv_lines(GROUP_FIELDS, rows.iterator(chunk_size=CHUNK))


# Deliveries ----------------------------------------------------------------------------


def cohort_deliveries(cohort: Cohort):  # -> QuerySet[Delivery]
    return Delivery.objects.filter(message__scope=cohort.scope)


def deliveries_csv(cohort: Cohort) -> Iterator[str]:
    """Deliveries and their events, merged from two id-ordered streams (no per-row query)."""
    # Subjects as staff read them (course values filled in, personal ones marked), once per message.
    subjects = shown.subjects_of(Message.objects.filter(scope=cohort.scope))
    # Message-IDs kept by the message (a relayed post's), or made from the ids
    # (Message.copy_message_id) here, as they went out.
    kept_by = {}
    domains = {}
    for m in Message.objects.filter(scope=cohort.scope).only("from_email", "rfc_message_id"):
        domains[m.pk], kept_by[m.pk] = m.id_domain(), m.rfc_message_id
    rows = (cohort_deliveries(cohort).order_by("id")
            .values_list("id", "message__public_id", "message__tag", "message_id", "recipient", "ref", "status",
                         "attempts", "not_before", "sent_at", "rfc_message_id", "provider_id", "last_error")
            .iterator(chunk_size=CHUNK))
    deliveries = ((delivery_id, public_id, tag, subjects.get(message_id, ""), *sent,
                   kept or kept_by[message_id] or made_message_id(public_id.hex, delivery_id, domains[message_id]),
                   provider_id, last_error)
                  for delivery_id, public_id, tag, message_id, *sent, kept, provider_id, last_error in rows)
    events = (Event.objects.filter(delivery__in=cohort_deliveries(cohort))
              .order_by("delivery_id", "occurred_at", "id")
              .values_list("delivery_id", "event_type", "occurred_at", "description")
              .iterator(chunk_size=CHUNK))
    return csv_lines([*DELIVERY_FIELDS, *EVENT_FIELDS], _merge(deliveries, events))


def _merge(deliveries: Iterator[tuple], events: Iterator[tuple]) -> Iterator[list[Any]]:
    pending = next(events, None)
    for delivery_id, *delivery in deliveries:
        while pending is not None and pending[0] < delivery_id:
            pending = next(events, None)  # an event of a delivery outside this export: skip
        found = False
        while pending is not None and pending[0] == delivery_id:
            found = True
            yield [*delivery, *pending[1:]]
            pending = next(events, None)
        if not found:
            yield [*delivery, "", "", ""]


# Group archives ------------------------------------------------------------------------


def mbox(group: StudyGroup) -> Iterator[bytes]:
    """The group's posts as an mbox (mboxrd: body lines starting with ">*From " get one more '>')."""
    posts = (Post.objects.filter(group=group, held=False).order_by("received_at", "id")
             .values_list("raw", "received_at").iterator(chunk_size=200))
    for raw, received_at in posts:
        yield _mbox_entry(bytes(raw), received_at)


def _mbox_entry(raw: bytes, received_at: datetime) -> bytes:
    sender = _envelope_sender(raw)
    out = io.BytesIO()
    out.write(f"From {sender} {received_at.strftime('%a %b %d %H:%M:%S %Y')}\n".encode())
    for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
        if line.lstrip(b">").startswith(b"From "):
            line = b">" + line
        out.write(line + b"\n")
    out.write(b"\n")
    return out.getvalue()


def _envelope_sender(raw: bytes) -> str:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    for line in head.splitlines():
        if line.lower().startswith("from:"):
            address = parseaddr(line[5:].strip())[1]
            if address and " " not in address:
                return address
    return "MAILER-DAEMON"


# Everything ----------------------------------------------------------------------------


def cohort_zip(cohort: Cohort, now: datetime) -> tempfile.SpooledTemporaryFile:
    """Every export of the cohort in one zip, rewound and ready to stream."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", _readme(cohort, now))
        for name, chunks in [("learners.csv", learners_csv(cohort)), ("learners.json", learners_json(cohort)),
                             ("groups.csv", groups_csv(cohort)), ("deliveries.csv", deliveries_csv(cohort))]:
            _write(zf, name, batched(chunks))
        for group in StudyGroup.objects.filter(cohort=cohort).order_by("number"):
            _write(zf, f"archives/group-{group.number}.mbox", batched(mbox(group)))
    spool.seek(0)
    return spool


def _write(zf: zipfile.ZipFile, name: str, chunks: Iterable[bytes]) -> None:
    with zf.open(name, "w", force_zip64=True) as member:
        for chunk in chunks:
            member.write(chunk)


def _readme(cohort: Cohort, now: datetime) -> str:
    return README.format(title=cohort.title or cohort.slug, slug=cohort.slug, course=cohort.course.title,
                         made=now.strftime("%Y-%m-%d %H:%M"),
                         learner_fields=", ".join([*LEARNER_FIELDS, "answers"]),
                         group_fields=", ".join(GROUP_FIELDS),
                         delivery_fields=", ".join([*DELIVERY_FIELDS, *EVENT_FIELDS]))


def file_chunks(spool: Any, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()
