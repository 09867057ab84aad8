"""The outbox: what other apps call to send mail.

    msg = compose(kind=Message.SUBSCRIBED, subject="Week {{ week }}", body=markdown,
                  scope=f"cohort:{cohort.pk}", tag="course-email", list_id="py-3.announce.example.org")
    enqueue(msg, (Recipient(l.email, learner_context(l), ref=str(l.public_id)) for l in learners))

Nothing is sent here: rows are committed to the outbox and the delivery engine
(`mmooc.mailer.engine`, run by `mmooc worker` or `mmooc serve`) sends them. Bad input
raises `OutboxError` (a ValueError) before anything is written.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.parser import BytesParser
from json.encoder import encode_basestring_ascii as _json_string  # what json.dumps uses (C)
from typing import Any

import idna
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from mmooc.lib import bulk, mailheaders
from mmooc.lib.mailheaders import HeaderError
from mmooc.lib.mailrender import PLACEHOLDER, UNSUBSCRIBE_VAR
from mmooc.mailer import refvalues, signals, suppression, wakeups
from mmooc.mailer.exceptions import OutboxError as OutboxError
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.verp import (  # noqa: F401  (re-exported for the bounce handler)
    delivery_from_bounce_address,
    make_bounce_address,
)


@dataclass(frozen=True)
class Recipient:
    address: str
    context: Mapping[str, str] = field(default_factory=dict)  # values for the {{ name }} placeholders
    not_before: datetime | None = None  # aware; None = now
    ref: str = ""  # the caller's reference, e.g. a learner's public_id


def _check(name: str, value: str) -> str:
    try:
        return mailheaders.check_value(name, value)
    except HeaderError as exc:
        raise OutboxError(str(exc)) from None


def _check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    out = {}
    for name, value in (headers or {}).items():
        try:
            mailheaders.check_name(name)
        except HeaderError as exc:
            raise OutboxError(str(exc)) from None
        out[name] = _check(f"The {name} header", str(value))
    return out


def _check_from(value: str) -> str:
    try:
        mailheaders.address_header(value)
    except HeaderError as exc:
        raise OutboxError(f"The sender address is not usable: {exc}") from None
    return value


def compose(*, kind: str, subject: str, body: str, scope: str = "", tag: str = "",
            from_email: str | None = None, reply_to: str = "", list_id: str = "", list_name: str = "",
            footer: str = "", headers: Mapping[str, str] | None = None, ref_values: str = "") -> Message:
    """Store a message (Markdown body, `{{ name }}` placeholders) to be sent to recipients.

    `ref_values`: a kind registered in mmooc.mailer.refvalues; its values are made from each
    copy's ref when the copy is sent, and are not stored."""
    message = _message(kind=kind, subject=subject, body=body, scope=scope, tag=tag, from_email=from_email,
                       reply_to=reply_to, list_id=list_id, list_name=list_name, footer=footer, headers=headers,
                       ref_values=ref_values)
    message.save(force_insert=True)
    return _fresh(message)


def compose_many(messages: Iterable[Mapping[str, Any]]) -> list[Message]:
    """`compose` for many messages (each a dict of its keyword arguments) in one bulk insert.

    Every message is checked before anything is written: one bad message refuses them all.
    """
    unsaved = [_message(**kw) for kw in messages]
    if not unsaved:
        return []
    if connection.vendor == "postgresql":
        _copy_messages(unsaved)
    else:
        Message.objects.bulk_create(unsaved, batch_size=500)
    return [_fresh(m) for m in unsaved]


def _copy_messages(messages: list[Message]) -> None:
    """PostgreSQL: the messages' ids taken from their sequence in one query, then the rows
    written by COPY. A grouping's welcomes are 25,000 messages at a million learners, each
    with a body of a few kilobytes: bulk_create's INSERT … RETURNING, its statement text
    built and its values bound in Python, cost 4–5 s of the welcomes' CPU."""
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [table, len(messages)])
        ids = [pk for (pk,) in cursor.fetchall()]
    fields = Message._meta.concrete_fields
    for message, pk in zip(messages, ids, strict=True):
        message.pk = pk
        message._state.adding, message._state.db = False, connection.alias
    bulk.insert(Message, [f.name for f in fields], ([getattr(m, f.attname) for f in fields] for m in messages))


def _fresh(message: Message) -> Message:
    """Mark a message just written inside a transaction: until that transaction ends no one
    else can see it, so its first deliveries need no check for rows added meanwhile."""
    # Marks only this module reads: fresh, no row yet; own, every row written by this transaction.
    message._outbox_fresh = message._outbox_own = connection.in_atomic_block  # type: ignore[attr-defined]
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _seen(message))  # visible from then on
    return message


def _seen(message: Message) -> None:
    message._outbox_fresh = message._outbox_own = False  # type: ignore[attr-defined]


def _message(*, kind: str, subject: str, body: str, scope: str = "", tag: str = "",
             from_email: str | None = None, reply_to: str = "", list_id: str = "", list_name: str = "",
             footer: str = "", headers: Mapping[str, str] | None = None, ref_values: str = "") -> Message:
    """A checked, unsaved message."""
    if kind not in (Message.TRANSACTIONAL, Message.SUBSCRIBED):
        raise OutboxError(f"kind must be {Message.TRANSACTIONAL!r} or {Message.SUBSCRIBED!r}, got {kind!r}")
    _check("The subject", subject)
    if not subject.strip() or len(subject) > 998:
        raise OutboxError("The subject must not be empty and must be under 998 characters")
    from_email = _check_from(from_email or settings.DEFAULT_FROM_EMAIL)
    if reply_to:
        _check_from(reply_to)
    if list_id:
        try:
            mailheaders.list_id(list_id, list_name)
        except HeaderError as exc:
            raise OutboxError(str(exc)) from None
    return Message(
        kind=kind, subject=subject, body=body, scope=scope, tag=tag, from_email=from_email,
        reply_to=reply_to, list_id=list_id, list_name=list_name, footer=footer,
        headers=_check_headers(headers), ref_values=_check_ref_values(ref_values))


def _check_ref_values(name: str) -> str:
    """A kind of values made from refs (mmooc.mailer.refvalues) that a process has registered."""
    if name:
        try:
            refvalues.get(name)
        except refvalues.UnknownKind as exc:
            raise OutboxError(str(exc)) from None
    return name


def compose_raw(*, raw: bytes, scope: str = "", tag: str = "relay", list_id: str = "",
                list_name: str = "", headers: Mapping[str, str] | None = None,
                shown: tuple[str, str] | None = None, recipients: Iterable[Recipient] | None = None,
                ref_values: str = "") -> Message:
    """Store a message prepared elsewhere (a relayed post); copies get To and List-Unsubscribe.

    `shown` is (From, Subject) as a mail client shows them, when the caller has just written
    those headers itself (the relay): the bytes are then not parsed again to read them.
    `recipients`: its copies, queued with it as `enqueue` would (the same checks, all made
    before anything is written). Written by the same call, the message needs no holding
    and has no rows to clash with: a relayed post's message and copies are two statements.
    `ref_values`: as for `compose`; a relayed post's leave links are made from each copy's ref
    when it is sent, so its rows keep no context.
    """
    if shown is None:
        parsed = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        if not parsed.get("From"):
            raise OutboxError("The message has no From header")
        shown = (str(parsed["From"]), str(parsed.get("Subject", "")))
    elif not shown[0]:
        raise OutboxError("The message has no From header")
    message = Message(kind=Message.SUBSCRIBED, raw=raw, scope=scope, tag=tag, list_id=list_id, list_name=list_name,
                      from_email=shown[0][:320], subject=shown[1][:998], headers=_check_headers(headers),
                      ref_values=_check_ref_values(ref_values))
    # Cut to the column's length (a header folded over many lines, with comments): the copies
    # go out with the whole header, only a lookup by that id then finds nothing.
    message.rfc_message_id = _raw_message_id(message)[:998]
    if recipients is None:
        message.save(force_insert=True)
        return _fresh(message)
    rows = _rows(message, recipients)
    with transaction.atomic(savepoint=False):  # inside a caller's transaction (the relay's), no savepoint
        message.save(force_insert=True)
        _fresh(message)
        if rows:
            _write_new(message, rows)
            message._outbox_fresh = False  # type: ignore[attr-defined]  # it has rows now
    return message


def _write_new(message: Message, rows: list[Row]) -> None:
    """The first rows of a message this transaction has just written: no one else sees it
    before the commit, so it is not held (hold_messages) and no row can clash."""
    if connection.vendor == "postgresql":
        _copy_many([(message, rows)], "mailer_delivery")
    else:
        _insert_generic_many([(message, rows)])
    _wake_on_commit()


def normalize_address(address: str) -> str:
    """The address as the engine will send to it: trimmed, IDN domain as an A-label (IDNA2008)."""
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if at and not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise OutboxError(f"{address!r} has a domain that is not a valid international name") from None
        address = f"{local}@{domain}"
    if not mailheaders.is_address(address):
        raise OutboxError(f"{address!r} is not a valid email address")
    return address


def _header_names(message: Message) -> set[str]:
    """The context's values that go into headers (checked for line breaks): none of those made
    from a copy's ref when it is sent."""
    names = set(PLACEHOLDER.findall(message.subject)) if message.raw is None else set()
    if message.kind == Message.SUBSCRIBED:
        names.add(UNSUBSCRIBE_VAR)
    made = refvalues.kind(message)
    return names - made.names if made else names


def _needs_url(message: Message) -> bool:
    """Whether each copy's context must hold an unsubscribe URL: subscribed mail's does, unless
    the copy's ref makes it when it is sent."""
    made = refvalues.kind(message)
    return message.kind == Message.SUBSCRIBED and not (made and UNSUBSCRIBE_VAR in made.names)


def _kept_names(message: Message) -> set[str] | None:
    """The values a copy's row keeps: those the message uses, less those made from its ref
    when it is sent (None: the whole context, for a raw message)."""
    used = used_names(message)
    made = refvalues.kind(message)
    return used - made.names if used is not None and made else used


def _check_recipient(message: Message, r: Recipient, header_names: set[str], needs_url: bool,
                     made: refvalues.Kind | None = None) -> None:
    """`made`: the message's values made from refs: their names are not looked for in the
    context, the ref must make them."""
    context = r.context
    if made is not None and not made.accepts(r.ref):
        raise OutboxError(f"The copy for {r.address} needs a ref its values ({made.name}) can be made from, "
                          f"not {r.ref[:64]!r}")
    for name in header_names:
        value = context.get(name, "")
        if "\n" in value or "\r" in value:
            raise OutboxError(f"The value of {name} for {r.address} contains a line break")
    if needs_url:
        url = context.get(UNSUBSCRIBE_VAR, "")
        if not url.startswith(("https://", "http://")) or "<" in url or ">" in url or "," in url or " " in url:
            raise OutboxError(f"Subscribed mail needs an unsubscribe_url (an http(s) URL without "
                              f"spaces, commas or <>) for {r.address}")
    if r.not_before is not None and timezone.is_naive(r.not_before):
        raise OutboxError(f"not_before for {r.address} must be an aware datetime")


_HEAD_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def _raw_message_id(message: Message) -> str:
    """The Message-ID header of a raw message, unfolded (every copy of a relayed post keeps it)."""
    raw = bytes(message.raw or b"")
    end = _HEAD_END.search(raw)
    found = _MESSAGE_ID.search(raw, 0, end.start() if end else len(raw))
    if found is None:
        return ""
    return re.sub(rb"\r?\n", b"", found.group(1)).decode("ascii", "replace").strip()


def used_names(message: Message) -> set[str] | None:
    """The placeholders a structured message fills in (None for a raw one: its context is kept whole)."""
    if message.raw is not None:
        return None
    names = set(PLACEHOLDER.findall(f"{message.subject}\n{message.body}\n{message.footer}"))
    if message.kind == Message.SUBSCRIBED:
        names.add(UNSUBSCRIBE_VAR)
    return names


# One delivery row: address, context JSON, ref, not_before (None: now), Message-ID.
Row = tuple[str, str, str, datetime | None, str]


# Rows checked and written at a time by one `enqueue` call: a million recipients are never
# held in memory at once.
CHUNK = 10_000


def _rows(message: Message, recipients: Iterable[Recipient]) -> list[Row]:
    """(address, context JSON, ref, not_before or None, Message-ID) per distinct recipient."""
    return [row for chunk in _row_chunks(message, recipients, _written, math.inf) for row in chunk]


def _row_chunks(message: Message, recipients: Iterable[Recipient], seen_before: Any,
                size: float | None = None) -> Iterator[list[Row]]:
    """The rows of distinct recipients, `size` at a time, each chunk checked whole.

    A recipient's context is stored with only the values the message uses: a course email's
    100,000 rows stay small, and nothing about a learner is kept that the copy does not show.

    Recipients are told apart case-insensitively within the call without keeping every
    address: an exact repeat is skipped by the insert itself (ON CONFLICT / OR IGNORE), so
    only the lowercased forms of addresses written with capitals are kept, and a capitalized
    address whose lowercase form came in an earlier chunk is looked up there
    (`seen_before(message, addresses)` gives those of `addresses` already written).
    """
    size = size or CHUNK
    header_names = _header_names(message)
    used = _kept_names(message)
    needs_url = _needs_url(message) and message.raw is None
    made = refvalues.kind(message)
    fixed_id = _message_id(message)
    keys: dict[str, str] = {}  # each context key as JSON, for _context_json
    capitalized: set[str] = set()  # lowercase forms of the addresses written with capitals so far
    rows: dict[str, Row] = {}
    first = True
    for r in recipients:
        address = normalize_address(r.address)
        _check_recipient(message, r, header_names, needs_url, made)
        key = address.lower()
        if key in rows or key in capitalized:
            continue
        if key != address:
            capitalized.add(key)
        rows[key] = (address, _context_json(r.context, used, keys), r.ref[:64], r.not_before, fixed_id)
        if len(rows) >= size:
            yield _unseen(message, rows, first, seen_before)
            rows, first = {}, False
    if rows:
        yield _unseen(message, rows, first, seen_before)


def _context_json(context: Mapping[str, Any], used: set[str] | None, keys: dict[str, str]) -> str:
    """json.dumps of the context less the values the message does not use (all when `used` is
    None), built from the values' encoding alone when they are strings: a course email's
    million contexts share a few keys, each encoded once per call (`keys`)."""
    try:
        if used is None:
            return "{" + ", ".join([keys[k] + _json_string(v) for k, v in context.items()]) + "}"
        return "{" + ", ".join([keys[k] + _json_string(v) for k, v in context.items() if k in used]) + "}"
    except (KeyError, TypeError):  # a key not seen yet, or a value that is not a string
        kept = dict(context) if used is None else {k: v for k, v in context.items() if k in used}
        keys.update((k, f"{_json_string(k)}: ") for k in kept if isinstance(k, str))
        return json.dumps(kept)


def _unseen(message: Message, rows: dict[str, Row], first: bool, seen_before: Any) -> list[Row]:
    """A chunk's rows, less the capitalized addresses whose lowercase form an earlier chunk wrote."""
    if first:
        return list(rows.values())
    asked = [key for key, row in rows.items() if row[0] != key]
    found = seen_before(message, asked) if asked else ()
    return [row for key, row in rows.items() if key not in found]


def _written(message: Message, addresses: list[str]) -> set[str]:
    """Those of `addresses` that already have a row of `message` (found by the unique index)."""
    found: set[str] = set()
    for i in range(0, len(addresses), 900):
        found.update(message.deliveries.filter(recipient__in=addresses[i:i + 900]).values_list("recipient", flat=True))
    return found


def enqueue(message: Message, recipients: Iterable[Recipient]) -> int:
    """Add one delivery per recipient; returns the rows added.

    A recipient already queued for this message is skipped (one row per message and
    recipient, case-insensitively within one call). Any bad recipient refuses the whole call:
    a call of up to CHUNK recipients is checked whole before anything is written; a longer
    one is checked and written CHUNK rows at a time (memory stays the same for any number),
    inside a savepoint that a bad recipient further on rolls back.
    """
    if message.state == Message.CANCELLED:
        raise OutboxError("This message was cancelled; compose a new one")
    chunks = _row_chunks(message, recipients, _written)
    first = next(chunks, None)
    if not first:
        return 0
    second = next(chunks, None)
    if second is None:
        return _write(message, first)
    with transaction.atomic():
        # A message with no rows before this call gets its later chunks by COPY too (PostgreSQL):
        # only a repeated address can clash, and that chunk then takes the slower way.
        empty = getattr(message, "_outbox_fresh", False) or not message.deliveries.exists()
        if not hold_messages([message]):
            raise OutboxError(GONE)  # in the savepoint
        added = _insert(message, first) + _insert(message, second, empty)
        for chunk in chunks:
            added += _insert(message, chunk, empty)
        _wake_on_commit()
    return added


GONE = "A message to queue copies of no longer exists"


def _write(message: Message, rows: list[Row]) -> int:
    """One message's checked rows, written while the message is held."""
    return _write_many([(message, rows)])


@dataclass(frozen=True)
class Prepared:
    """The rows of one `enqueue` call, made and checked by `prepare`, for `enqueue_prepared`;
    with `copy_text`, also as PostgreSQL's COPY reads them."""

    message_id: int
    rows: list[Row]
    copy_text: str | None = None


def prepare(message: Message, recipients: Iterable[Recipient], *, for_copy: bool = False) -> Prepared:
    """What `enqueue(message, recipients)` would write, checked as it checks (OutboxError),
    made without the database: another thread may prepare a batch while this one writes
    the batch before (`mmooc.lib.ahead`). The rows are held whole: prepare a batch, not a
    whole audience. `for_copy` (the database is PostgreSQL): the rows' COPY text is made
    here too, so that the writing thread only sends it."""
    if message.state == Message.CANCELLED:
        raise OutboxError("This message was cancelled; compose a new one")
    rows = _rows(message, recipients)
    text = _copy_text(message.pk, rows, timezone.now().isoformat()) if for_copy and rows else None
    return Prepared(message.pk, rows, text)


def enqueue_prepared(message: Message, prepared: Prepared) -> int:
    """`enqueue` of prepared rows: the same rows, the same rules; returns the rows added."""
    if prepared.message_id != message.pk:
        raise OutboxError("These rows were prepared for another message")
    if message.state == Message.CANCELLED:
        raise OutboxError("This message was cancelled; compose a new one")
    return _write_many([(message, prepared.rows)], prepared.copy_text) if prepared.rows else 0


def hold_messages(messages: list[Message]) -> bool:
    """What a foreign key would check for every copy, once per call: whether each message still
    exists; PostgreSQL holds them (FOR KEY SHARE) so that none can be deleted before this
    transaction ends. On SQLite the one writer holds the database from its first write to the end."""
    ids = sorted({m.pk for m in messages})
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    found = 0
    with connection.cursor() as cursor:
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            cursor.execute(f"SELECT id FROM mailer_message WHERE id IN ({', '.join(['%s'] * len(part))}){lock}", part)
            found += len(cursor.fetchall())
    return found == len(ids)


def _insert(message: Message, rows: list[Row], copy_first: bool = False) -> int:
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _insert_postgres_many([(message, rows)], copy_first=copy_first)
    return _insert_generic(message, rows)


def enqueue_one(message: Message, recipient: Recipient) -> bool:
    """One delivery in one statement, for a busy single-message path (each signup's confirmation
    on its cohort's shared message): written only while the message is still active and the
    address is not on it yet. False when nothing was written: `enqueue` then decides."""
    address = normalize_address(recipient.address)
    _check_recipient(message, recipient, _header_names(message), _needs_url(message), refvalues.kind(message))
    used = _kept_names(message)
    context = dict(recipient.context) if used is None else {k: v for k, v in recipient.context.items() if k in used}
    now: Any = timezone.now()
    not_before: Any = recipient.not_before or now
    if connection.vendor != "postgresql":
        adapt = connection.ops.adapt_datetimefield_value
        now, not_before = adapt(now), adapt(not_before)
    stored = Delivery._meta.get_field("context").get_db_prep_save(context, connection)
    with connection.cursor() as cursor:
        # PostgreSQL: the message is held as by hold_messages (SQLite writes in one step).
        lock = "FOR KEY SHARE " if connection.vendor == "postgresql" else ""
        cursor.execute(_ONE_SQL.format(lock=lock),
                       [address, stored, recipient.ref[:64], Delivery.QUEUED, not_before, _message_id(message), now,
                        message.pk, Message.ACTIVE, message.scope, message.tag, message.subject])
        added: bool = cursor.rowcount == 1
    if added:
        _wake_on_commit()
    return added


def _message_id(message: Message) -> str:
    """The Message-ID a copy's row keeps: none, its message keeps it (a relayed post's own,
    Message.rfc_message_id) or it is made from the ids when sent (Message.copy_message_id);
    but a post stored before its message kept it: its own, in every row."""
    return _raw_message_id(message) if message.raw is not None and not message.rfc_message_id else ""


def remembered(*, kind: str, subject: str, body: str, scope: str, tag: str) -> Message | None:
    """The shared message with these values this process found last (see `shared`), unchecked
    but for its day: yesterday's is not today's."""
    found = _SHARED.get((kind, scope, tag, subject, body))
    return found if found is not None and found.created_at >= _today() else None


def shared(*, kind: str, subject: str, body: str, scope: str, tag: str) -> Message:
    """A message that many single sends share (a cohort's confirmation): today's active one with
    these values, or a new one. Its copies differ only by their placeholders, so the engine renders
    it once for all of them; a new one each day (UTC) puts a day's copies in one row of the outbox,
    listed with that day's mail. One of two racing first callers may compose a second."""
    key = (kind, scope, tag, subject, body)
    found = _SHARED.get(key)
    today = _today()
    # The row is checked whole: one cohort's shared messages differ by language, and a row
    # id may come back for another message after a rollback (SQLite).
    if found is None or found.created_at < today or not Message.objects.filter(
            pk=found.pk, scope=scope, tag=tag, kind=kind, subject=subject, body=body,
            state=Message.ACTIVE).exists():
        # Found by the message_scope_tag index.
        found = (Message.objects.filter(scope=scope, tag=tag, kind=kind, subject=subject, body=body,
                                        state=Message.ACTIVE, created_at__gte=today).order_by("pk").first()
                 or compose(kind=kind, subject=subject, body=body, scope=scope, tag=tag))
        _SHARED[key] = found
    return found


def _today() -> datetime:
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


# Shared messages this process has found, by (kind, scope, tag, subject, body).
_SHARED: dict[tuple[str, str, str, str, str], Message] = {}


def enqueue_many(pairs: Iterable[tuple[Message, Iterable[Recipient]]]) -> int:
    """`enqueue` for many messages at once (a grouping's welcome emails): every message's rows in
    one bulk statement (PostgreSQL: one COPY for new messages); returns the rows added.

    The same rules as `enqueue`, per message; any bad recipient or cancelled message refuses
    the whole call before anything is written.
    """
    batch: list[tuple[Message, list[Row]]] = []
    for message, recipients in pairs:
        if message.state == Message.CANCELLED:
            raise OutboxError("This message was cancelled; compose a new one")
        rows = _rows(message, recipients)
        if rows:
            batch.append((message, rows))
    return _write_many(batch)


def _write_many(batch: list[tuple[Message, list[Row]]], copy_text: str | None = None) -> int:
    """Checked rows of one or more messages, in one bulk write while the messages are held
    (`copy_text`: the rows as COPY reads them, if already made)."""
    if not batch:
        return 0
    with transaction.atomic(savepoint=False):  # inside a caller's transaction (the relay's), no savepoint
        held = hold_messages([m for m, _ in batch])
        if held:
            added = (_insert_postgres_many(batch, copy_text=copy_text) if connection.vendor == "postgresql"
                     else _insert_generic_many(batch))
            _wake_on_commit()
    if not held:  # raised out here: a caller's transaction stays usable
        raise OutboxError(GONE)
    return added


def _wake_on_commit(*, inserted: bool = True) -> None:
    """Wake the engines when the rows just written are committed: those of this process at
    once, those of other processes by a NOTIFY (PostgreSQL) or a datagram (SQLite). Rows
    `inserted` send their NOTIFY themselves (mailer migration 0015); rows made due otherwise
    need one."""
    if not inserted:
        wakeups.notify()
    transaction.on_commit(_wake_engine)


def _wake_engine() -> None:
    from mmooc.mailer import engine

    engine.wake()
    wakeups.poke()


_COLUMNS = ("message_id, recipient, context, ref, status, not_before, attempts, rfc_message_id, "
            "provider_id, last_error, updated_at")


# INSERT … SELECT needs a WHERE before ON CONFLICT on SQLite; it has one.
_ONE_SQL = (f"INSERT INTO mailer_delivery ({_COLUMNS}) "
            "SELECT id, %s, %s, %s, %s, %s, 0, %s, '', '', %s FROM mailer_message "
            "WHERE id = %s AND state = %s AND scope = %s AND tag = %s AND subject = %s "
            "{lock}ON CONFLICT (message_id, recipient) DO NOTHING")


def _insert_postgres_many(batch: list[tuple[Message, list[Row]]], copy_first: bool = False,
                          copy_text: str | None = None) -> int:
    """`copy_first`: try a plain COPY (in a savepoint) even though the messages have rows;
    `copy_text`: the rows' COPY text, if already made."""
    import psycopg  # only with PostgreSQL

    own = connection.in_atomic_block and all(getattr(m, "_outbox_own", False) for m, _ in batch)
    fresh = own and all(getattr(m, "_outbox_fresh", False) for m, _ in batch)
    for message, _ in batch:
        message._outbox_fresh = False  # type: ignore[attr-defined]  # a second call may repeat addresses of the first
    if fresh:
        return _copy_many(batch, "mailer_delivery", copy_text)  # the relay's case: no staging table, no savepoint
    # Messages only this transaction writes (a course email scheduled in batches of learners):
    # only a repeated address can clash, so COPY first and take the slower way if one does.
    if own or copy_first or not Delivery.objects.filter(message__in=[m.pk for m, _ in batch]).exists():
        try:
            with transaction.atomic():
                return _copy_many(batch, "mailer_delivery", copy_text)
        except (IntegrityError, psycopg.IntegrityError):  # a repeat, or another call added some meanwhile
            pass
    with connection.cursor() as cursor:
        # One staging table per transaction, emptied before each use: creating and dropping
        # one per call would pile up locks when a caller enqueues thousands of messages in
        # one transaction (a grouping's welcome emails).
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS mailer_enqueue (message_id bigint, recipient text, "
                       "context text, ref text, status text, not_before timestamptz, attempts integer, "
                       "rfc_message_id text, provider_id text, last_error text, updated_at timestamptz) "
                       "ON COMMIT DROP")
        cursor.execute("DELETE FROM mailer_enqueue")
        _copy_many(batch, "mailer_enqueue", copy_text)
        cursor.execute(f"INSERT INTO mailer_delivery ({_COLUMNS}) SELECT {_COLUMNS} FROM mailer_enqueue "
                       "ON CONFLICT (message_id, recipient) DO NOTHING")
        return int(cursor.rowcount)


def _copy_many(batch: list[tuple[Message, list[Row]]], table: str, text: str | None = None) -> int:
    """The rows in COPY's text format, built by this module and handed over in one write:
    psycopg's row-by-row writer costs several microseconds a row, a million times for a
    course email, and each write is a round of its own (a grouping's welcomes are a few
    hundred messages of forty copies)."""
    if text is None:
        now = timezone.now().isoformat()
        text = "".join([_copy_text(message.pk, rows, now) for message, rows in batch])
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy:
        copy.write(text)
    return sum(len(rows) for _, rows in batch)


# COPY's text format: a backslash starts an escape; tab and newline end a column and a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(message_id: int, rows: list[Row], now: str) -> str:
    """One message's rows as COPY text, the columns of _COLUMNS; `now` is an ISO timestamp.

    Built without looking at each value: a tab, newline or carriage return in a value shows
    in the counts of the whole text (there are exactly so many of each per row), and the
    rows are then built again with each value escaped. A backslash can only come from a
    value (JSON escapes in a context, say), so doubling every one escapes them all.
    """
    text = _copy_lines(message_id, rows, now, escape=False)
    if text.count("\t") == 10 * len(rows) and text.count("\n") == len(rows) and "\r" not in text:
        return text.replace("\\", "\\\\")
    return _copy_lines(message_id, rows, now, escape=True)


def _copy_lines(message_id: int, rows: list[Row], now: str, escape: bool) -> str:
    times: dict[datetime, str] = {}  # a course email has one send time per time zone
    head, status, tail = f"{message_id}\t", f"\t{Delivery.QUEUED}\t", f"\t\t\t{now}\n"
    lines = []
    for address, context, ref, not_before, mid in rows:
        when = now if not_before is None else times.get(not_before) or times.setdefault(
            not_before, not_before.isoformat())
        if escape:
            address, context, ref, mid = (v.translate(_COPY_ESCAPES) for v in (address, context, ref, mid))
        lines.append(f"{head}{address}\t{context}\t{ref}{status}{when}\t0\t{mid}{tail}")
    return "".join(lines)


def _insert_generic(message: Message, rows: list[Row]) -> int:
    return _insert_generic_many([(message, rows)])


def _insert_generic_many(batch: list[tuple[Message, list[Row]]]) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    # A course email has one send time per time zone: each is adapted once.
    times: dict[datetime, Any] = {}
    params = [(message.pk, a, c, f, (times.get(nb) or times.setdefault(nb, adapt(nb))) if nb else now, mid, now)
              for message, rows in batch for a, c, f, nb, mid in rows]
    sql = (f"INSERT OR IGNORE INTO mailer_delivery ({_COLUMNS}) "
           "VALUES (%s, %s, %s, %s, 'queued', %s, 0, %s, '', '', %s)")
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return int(cursor.rowcount)


def send(*, to: str, subject: str, body: str, context: Mapping[str, str] | None = None,
         kind: str = Message.TRANSACTIONAL, ref: str = "", **compose_kw: Any) -> Delivery:
    """One message to one recipient (a confirmation, a magic link): composed and queued."""
    with transaction.atomic():
        message = compose(kind=kind, subject=subject, body=body, **compose_kw)
        enqueue(message, [Recipient(to, context or {}, ref=ref)])
    return message.deliveries.get()


def progress(message: Message | None) -> dict[str, int]:
    """Copies of a message per delivery status, every status present (zero when none)."""
    counts = dict.fromkeys((s for s, _ in Delivery.STATUSES), 0)
    if message is None:
        return counts
    rows = message.deliveries.values("status").annotate(n=Count("id")).order_by()
    counts.update({row["status"]: row["n"] for row in rows})
    for status, n in message.removed_counts.values_list("status", "count"):  # rows the retention job deleted
        counts[status] = counts.get(status, 0) + n
    return counts


def pause(message: Message) -> None:
    changed = Message.objects.filter(pk=message.pk, state=Message.ACTIVE).update(state=Message.PAUSED)
    message.refresh_from_db(fields=["state"])
    if changed:
        signals.paused.send(sender=Message, message=message)


def resume(message: Message) -> None:
    with transaction.atomic():
        if Message.objects.filter(pk=message.pk, state=Message.PAUSED).update(state=Message.ACTIVE):
            _wake_on_commit(inserted=False)
    message.refresh_from_db(fields=["state"])


def cancel(message: Message) -> int:
    """Stop a message for good: rows not yet sent are marked cancelled. Returns how many."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(state=Message.CANCELLED)
        now = timezone.now()
        # Rows an engine holds right now finish; rows a dead engine left behind are cancelled too.
        unsent = (Q(status__in=(Delivery.QUEUED, Delivery.DEFERRED))
                  | Q(status=Delivery.SENDING, lease_until__lt=now))
        n = message.deliveries.filter(unsent).update(status=Delivery.CANCELLED, updated_at=now)
    message.refresh_from_db(fields=["state"])
    return n


def refresh_queued(message: Message, values: Mapping[str, Mapping[str, str]]) -> int:
    """Copies still queued for the recipients named in `values` (ref -> values) take the new
    values of the placeholders they hold (a learner's group formed after the email was
    scheduled); a copy's other values, and copies that already left, stay. Returns how many
    copies changed."""
    count = 0
    refs = list(values)
    with transaction.atomic():  # all or nothing, as one bulk_update was
        for i in range(0, len(refs), 900):
            # Written a chunk at a time: the copies of a whole cohort are not held at once.
            changed = []
            rows = message.deliveries.filter(status=Delivery.QUEUED, ref__in=refs[i:i + 900]).only("pk", "ref",
                                                                                                  "context")
            for copy in rows:
                new = {k: str(v) for k, v in values[copy.ref].items() if k in copy.context}
                if any(copy.context[k] != v for k, v in new.items()):
                    copy.context = {**copy.context, **new}
                    changed.append(copy)
            Delivery.objects.bulk_update(changed, ["context"], batch_size=500)
            count += len(changed)
    return count


def is_suppressed(address: str) -> bool:
    """On the suppression list, by address or (an erased learner's) keyed hash."""
    return bool(suppression.suppressed_among([address]))
