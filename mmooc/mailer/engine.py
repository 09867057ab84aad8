"""The delivery engine: claims due outbox rows in batches, sends them, records the outcomes.

    run(stop)              the loop `mmooc worker` and `mmooc serve` run until `stop` is set
    drain(max_rounds=100)  for tests: runs the engine in the current thread until nothing is
                           due, then returns how many deliveries it processed, e.g.
                               send(to="a@example.org", subject="Hi", body="Hello")
                               assert drain() == 1

Each batch: take tokens from the shared rate limit, claim up to MMOOC_MAIL_BATCH due rows
in one statement (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several engines can run; SQLite:
one engine, held by a lock row with a heartbeat), skip suppressed addresses, send over one
kept-open connection, and record the outcomes. Claimed rows carry a short lease, renewed
while their batch is being sent: rows left in `sending` by an engine that died are claimed
again within a minute (on SQLite, at once by the engine that takes the lock over), and
copies sent twice that way carry the same Message-ID. Transient failures are retried
with exponential backoff and jitter up to MMOOC_MAIL_MAX_ATTEMPTS; permanent ones fail.
In `run`, one batch is on the wire while the next is claimed, and the outcomes of the batch
on the wire are recorded CHUNK copies at a time as the server accepts them: a worker killed
mid-send leaves at most two chunks sent and unrecorded, the copies sent again after a crash.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from mmooc.lib.mailheaders import HeaderError
from mmooc.mailer import bounces, breaker, health, refvalues, suppression, wakeups
from mmooc.mailer.exceptions import EngineBusy as EngineBusy
from mmooc.mailer.models import Delivery, EngineLock, Message, RateBucket
from mmooc.mailer.render import Prepared, PreparedRaw, prepare
from mmooc.mailer.report import Report, Tally, reason_text
from mmooc.mailer.transports import HELD, PERMANENT, SENT, TRANSIENT, Job, Result, Transport, for_config
from mmooc.operations import counters

log = logging.getLogger("mmooc.mailer")

LEASE = timedelta(seconds=45)  # renewed every third of it while the batch is on the wire
IDLE_WAIT = 1.0  # seconds between full looks at an empty outbox (claims, and rows of dead engines)
STOP_CHECK = 0.1  # seconds: how soon an idle engine notices it was asked to stop
DB_RETRY_WAIT = 5.0  # seconds to wait after a database error
# A batch's outcomes are written up to this many times, RECORD_RETRY_WAIT × the try apart.
RECORD_TRIES, RECORD_RETRY_WAIT = 3, 0.5
RETRY_BASE, RETRY_MAX = 60.0, 6 * 3600.0  # seconds: 1 min, 2, 4, … at most 6 h, with jitter
RECLAIM_EVERY = timedelta(seconds=10)
# Copies recorded together while a batch is on the wire; the sender runs at most two chunks
# ahead of the records, so a killed worker leaves at most 2 × CHUNK copies sent but unrecorded.
CHUNK = 25
HEARTBEAT_EVERY, LOCK_STALE = timedelta(seconds=10), timedelta(seconds=60)
LOCK_NAME = "engine"
PREPARED_CACHE = 64
FAULTS_IN_A_ROW = 5  # copies sent alone after a batch raised, that raise the same, before the rest waits
# Seconds an idle engine keeps its connection to the mail server open: the next group post,
# often seconds later, goes out without a new connection, greeting and EHLO.
KEEP_OPEN = 5.0


# Set when something was queued in this process, so an idle engine looks at once instead
# of at its next poll (group posts reach members in milliseconds under `mmooc serve`).
# Engines in other processes are woken by wakeups.notify (PostgreSQL) and wakeups.poke (SQLite).
_woken = threading.Event()


def wake() -> None:
    _woken.set()
    wakeups.wake_local()


def _idle(stop: threading.Event, seconds: float, *, poll: bool = False,
          listener: wakeups.Listener | None = None) -> None:
    """Wait until woken, stopped or `seconds` (at most IDLE_WAIT) have passed; with `poll`,
    also until a quick look every MMOOC_MAIL_POLL seconds finds a row due (queued by a
    process whose wake-up did not reach this one)."""
    now = time.monotonic()
    deadline = now + min(seconds, IDLE_WAIT)
    next_look = now + settings.MAIL_POLL
    while not stop.is_set():
        if _woken.is_set():
            _woken.clear()
            return
        now = time.monotonic()
        left = deadline - now
        if left <= 0:
            return
        wait = min(left, STOP_CHECK, max(0.0, next_look - now)) if poll else min(left, STOP_CHECK)
        woken = listener.wait(wait) if listener is not None else _woken.wait(wait)
        if woken or _woken.is_set():
            _woken.clear()
            return
        if poll and time.monotonic() >= next_look:
            next_look = time.monotonic() + settings.MAIL_POLL
            if _due():
                return


def _due() -> bool:
    """Whether the claim would find a row now (its conditions, read only)."""
    return Delivery.objects.filter(status__in=(Delivery.QUEUED, Delivery.DEFERRED), not_before__lte=timezone.now(),
                                   message__state=Message.ACTIVE).exists()



# --- the shared rate limit ----------------------------------------------------------------

def take_tokens(key: str, rate: float, wanted: int) -> tuple[int, float]:
    """Up to `wanted` sends allowed now, across all engines; and, if none, seconds to wait."""
    if rate <= 0:
        return wanted, 0.0
    RateBucket.objects.bulk_create([RateBucket(key=key, tokens=rate, updated=time.time())],
                                   ignore_conflicts=True)
    with transaction.atomic():
        bucket = RateBucket.objects.select_for_update().get(key=key)
        now = time.time()
        tokens = min(max(rate, 1.0), bucket.tokens + max(0.0, now - bucket.updated) * rate)
        granted = min(wanted, int(tokens))
        RateBucket.objects.filter(key=key).update(tokens=tokens - granted, updated=now)
    return granted, 0.0 if granted else (1.0 - tokens) / rate


def give_back_tokens(key: str, count: int) -> None:
    if count > 0:
        from django.db.models import F

        RateBucket.objects.filter(key=key).update(tokens=F("tokens") + count)


# --- the one-engine lock on SQLite ------------------------------------------------------

def _alive(owner: str, heartbeat: datetime) -> bool:
    if heartbeat < timezone.now() - LOCK_STALE:
        return False
    host, _, rest = owner.partition(":")
    pid = int(rest.partition(":")[0] or 0)
    if host != socket.gethostname() or not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def acquire_lock(owner: str) -> None:
    """Take the one-engine lock of a SQLite database; rows left in `sending` then belong to
    an engine that is gone, and are given back at once instead of when their lease runs out."""
    with transaction.atomic():
        held = EngineLock.objects.filter(name=LOCK_NAME).first()
        if held and held.owner != owner and _alive(held.owner, held.heartbeat):
            host, _, rest = held.owner.partition(":")
            raise EngineBusy(_busy_text(host, rest.partition(":")[0]))
        EngineLock.objects.update_or_create(name=LOCK_NAME,
                                            defaults={"owner": owner, "heartbeat": timezone.now()})
        if held is None or held.owner != owner:
            Delivery.objects.filter(status=Delivery.SENDING).update(lease_until=timezone.now() - timedelta(seconds=1))


def check_can_run() -> None:
    """Raise EngineBusy if another engine holds this SQLite database (for a clear start-up error)."""
    if connection.vendor != "sqlite":
        return
    held = EngineLock.objects.filter(name=LOCK_NAME).first()
    if held and _alive(held.owner, held.heartbeat):
        host, _, rest = held.owner.partition(":")
        raise EngineBusy(_busy_text(host, rest.partition(":")[0]))


def _busy_text(host: str, pid: str) -> str:
    return (f"another delivery engine is already running on this SQLite database (process {pid} on "
            f"{host}). SQLite allows one engine: stop the other one first, or use PostgreSQL to run several.")


def heartbeat(owner: str) -> None:
    if not EngineLock.objects.filter(name=LOCK_NAME, owner=owner).update(heartbeat=timezone.now()):
        raise EngineBusy("another delivery engine took over the SQLite lock; stopping")


def release_lock(owner: str) -> None:
    EngineLock.objects.filter(name=LOCK_NAME, owner=owner).delete()


# --- claiming and recording ----------------------------------------------------------------

def _claim_sql(postgres: bool, expired: bool) -> str:
    # Two forms, each served by the (status, not_before) index: due rows, and rows whose
    # lease ran out (a dead engine's batch). An OR of both would scan the table.
    lock = "FOR UPDATE OF d SKIP LOCKED" if postgres else ""
    due = ("d.status = 'sending' AND d.lease_until < %s" if expired
           else "d.status IN ('queued', 'deferred') AND d.not_before <= %s")
    return (
        "UPDATE mailer_delivery SET status = 'sending', lease_until = %s, attempts = attempts + 1, "
        "updated_at = %s WHERE id IN ("
        " SELECT d.id FROM mailer_delivery d JOIN mailer_message m ON m.id = d.message_id"
        f" WHERE {due} AND m.state = 'active' LIMIT %s {lock}) "
        "RETURNING id, message_id, recipient, context, rfc_message_id, attempts, ref")


def claim(limit: int, lease: timedelta = LEASE, *, expired: bool = False) -> list[Job]:
    """Mark up to `limit` due rows (or, with expired=True, rows whose lease ran out) as
    sending, leased to this engine, and return them; one statement."""
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    params = [adapt(now + lease), adapt(now), adapt(now), limit]
    with connection.cursor() as cursor:  # one statement: atomic alone, no BEGIN and COMMIT round trips
        cursor.execute(_claim_sql(connection.vendor == "postgresql", expired), params)
        rows = cursor.fetchall()
    return [Job(id=r[0], message_id=r[1], recipient=r[2],
                context=json.loads(r[3]) if isinstance(r[3], str) else (r[3] or {}),
                rfc_message_id=r[4], attempts=r[5], ref=r[6]) for r in rows]


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, so retries of one outage spread out."""
    return float(min(RETRY_BASE * 2 ** max(0, attempts - 1), RETRY_MAX) * random.uniform(0.5, 1.5))


# A claimed row is found by its id, and written only if still ours ('sending'). The status test
# is written so that no index serves it: on PostgreSQL, statistics that see few rows in
# 'sending' (most are sent) made the planner look for them through delivery_due, whose
# 'sending' range holds an entry for every row claimed since the table's last vacuum.
_STILL_SENDING = "(status = 'sending') IS TRUE"
_SET_DONE = f", lease_until = NULL, updated_at = %s WHERE id = %s AND {_STILL_SENDING}"


def record(results: list[Result], jobs: dict[int, Job], max_attempts: int) -> Tally:
    """Write every outcome of one batch in one transaction, with its counts (for /metrics),
    tried again after a database error; then an SMTP refusal meaning the mailbox does not
    exist suppresses the address."""
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    stamp = adapt(now)
    plain_sent, sent, deferred, ended, held = [], [], [], [], []
    refused: list[Result] = []
    for r in results:
        if r.outcome == SENT and not r.provider_id and r.stored is None:
            plain_sent.append(r.id)
        elif r.outcome == SENT:
            # Cut to its column, as the provider's events keep theirs (Event.provider_message_id):
            # an id longer than that would fail the whole batch's record, and every copy of it
            # would go out again when its lease ends.
            sent.append((stamp, r.provider_id[:255], r.stored, stamp, r.id))
        elif r.outcome == HELD:
            until = adapt(now + timedelta(seconds=r.wait))
            held.append((until, r.error[:2000], stamp, r.id))
        elif r.outcome == TRANSIENT and jobs[r.id].attempts < max_attempts:
            later = adapt(now + timedelta(seconds=retry_delay(jobs[r.id].attempts)))
            deferred.append((later, r.error[:2000], stamp, r.id))
        elif r.outcome == TRANSIENT:
            error = f"gave up after {jobs[r.id].attempts} attempts: {r.error}"
            ended.append((Delivery.FAILED, error[:2000], stamp, r.id))
        else:
            status = Delivery.SUPPRESSED if r.outcome == Delivery.SUPPRESSED else Delivery.FAILED
            ended.append((status, r.error[:2000], stamp, r.id))
            if r.outcome == PERMANENT and r.error[:1] == "5":
                refused.append(r)
    tally = _tally(plain_sent, sent, deferred, ended)
    counts = {("deliveries", outcome): getattr(tally, outcome) for outcome in OUTCOMES}
    _retried(lambda: _write_outcomes(plain_sent, sent, deferred, held, ended, counts, stamp), len(results))
    policy = [(jobs[r.id].recipient, r.error) for r in results
              if r.outcome in (PERMANENT, TRANSIENT) and r.error[:1] in "45" and bounces.is_policy_refusal(r.error)]
    if policy:
        breaker.note(policy)
    for r in refused:  # an SMTP 5xx: a mailbox that does not exist is suppressed like a hard bounce
        try:
            bounces.handle_refusal(r.id, r.error)
        except DatabaseError:
            raise
        except Exception:
            log.exception("delivery engine: could not act on the refusal of delivery %s", r.id)
    return tally


def _retried(write: Callable[[], None], copies: int) -> None:
    """record()'s writes, tried again after a database error (a lock, a dropped connection):
    the copies were sent, and outcomes given up on would send them again once their lease ran
    out. Each try is all or nothing, so a second one writes what the first did not."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            write()
            return
        except DatabaseError:
            # Inside a caller's transaction a failed statement spoils the rest of it: the caller decides.
            if attempt == RECORD_TRIES or connection.in_atomic_block:
                raise
            wait = RECORD_RETRY_WAIT * attempt
            log.warning("delivery engine: writing the outcomes of %d copies failed; trying again in %s s",
                        copies, wait, exc_info=True)
            connection.close_if_unusable_or_obsolete()
            time.sleep(wait)


def _write_outcomes(plain_sent: list[int], sent: list[Row], deferred: list[Row], held: list[Row],
                    ended: list[Row], counts: dict[tuple[str, str], int], stamp: Any) -> None:
    if plain_sent and not (sent or deferred or held or ended) and connection.vendor == "postgresql":
        # The usual batch, every copy accepted: its counts and its rows in one statement,
        # atomic alone (no BEGIN and COMMIT round trips).
        with_counts, params = counters.upsert_cte(counts)
        marks = ", ".join(["%s"] * len(plain_sent))
        with connection.cursor() as cursor:
            cursor.execute(f"{with_counts}UPDATE mailer_delivery SET status = 'sent', sent_at = %s, last_error = '', "
                           f"lease_until = NULL, updated_at = %s WHERE id IN ({marks}) AND {_STILL_SENDING}",
                           [*params, stamp, stamp, *plain_sent])
        return
    with transaction.atomic(), connection.cursor() as cursor:
        counters.add_many(counts)
        if plain_sent:
            marks = ", ".join(["%s"] * len(plain_sent))
            cursor.execute("UPDATE mailer_delivery SET status = 'sent', sent_at = %s, last_error = '', "
                           "lease_until = NULL, updated_at = %s "
                           f"WHERE id IN ({marks}) AND {_STILL_SENDING}",
                           [stamp, stamp, *plain_sent])
        if sent:
            cursor.executemany("UPDATE mailer_delivery SET status = 'sent', sent_at = %s, provider_id = %s, "
                               "stored = %s, last_error = ''" + _SET_DONE, sent)
        if deferred:
            cursor.executemany("UPDATE mailer_delivery SET status = 'deferred', not_before = %s, "
                               "last_error = %s" + _SET_DONE, deferred)
        if held:  # not tried: the attempt its claim counted is given back
            cursor.executemany("UPDATE mailer_delivery SET status = 'deferred', not_before = %s, "
                               "attempts = attempts - 1, last_error = %s" + _SET_DONE, held)
        if ended:
            cursor.executemany("UPDATE mailer_delivery SET status = %s, last_error = %s" + _SET_DONE, ended)


OUTCOMES = ("sent", "deferred", "failed", "suppressed")
Row = tuple[Any, ...]  # one executemany row of record()


def _tally(plain_sent: list[int], sent: list[Row], deferred: list[Row], ended: list[Row]) -> Tally:
    tally = Tally(sent=len(plain_sent) + len(sent))
    for _, error, _, _ in deferred:
        tally.add("deferred", error)
    for status, error, _, _ in ended:
        tally.add("suppressed" if status == Delivery.SUPPRESSED else "failed", error)
    return tally


@dataclass
class Step:
    processed: int = 0
    wait: float = 0.0  # seconds to wait before the next step (rate limit or idle)
    idle: bool = False  # nothing was due


class Engine:
    """One engine: a transport, a cache of prepared messages, and the batch loop's steps."""

    def __init__(self, transport: Transport | None = None, *, batch_size: int | None = None,
                 lease: timedelta = LEASE, use_lock: bool = True) -> None:
        self.transport = transport or for_config(settings.EMAIL_CONFIG)
        self.batch_size = batch_size or settings.MAIL_BATCH_SIZE
        self.lease = lease
        self.rate = float(settings.MAIL_RATE_LIMIT)
        self.rate_key = settings.EMAIL_CONFIG.name
        self.max_attempts = settings.MAIL_MAX_ATTEMPTS
        self.use_lock = use_lock and connection.vendor == "sqlite"
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.prepared: OrderedDict[int, Prepared | PreparedRaw | Exception] = OrderedDict()
        self.last_beat: datetime | None = timezone.now()
        self.last_reclaim = timezone.now()
        self.report = Report(self.transport.name)

    def start(self) -> None:
        if self.use_lock:
            acquire_lock(self.owner)
        self.last_beat = None  # beat at the first look, inside the loop that survives database errors

    def stop(self) -> None:
        self.report.flush()
        self.transport.close()
        if self.use_lock:
            release_lock(self.owner)

    def beat(self) -> None:
        """Say this engine is alive: the SQLite lock's heartbeat, and every engine's row for /healthz."""
        if self.last_beat is None or timezone.now() - self.last_beat > HEARTBEAT_EVERY:
            if self.use_lock:
                heartbeat(self.owner)
            health.beat(self.owner, starting=self.last_beat is None)
            self.last_beat = timezone.now()

    def step(self) -> Step:
        """One batch: claim, send, record. Returns how many deliveries it processed."""
        batch = self.next_batch()
        if isinstance(batch, Step):
            return batch
        jobs, results, sendable = batch
        if sendable:
            results += send_guarded(self.transport, sendable)
        self.report.recorded(record(results, {j.id: j for j in jobs}, self.max_attempts))
        return Step(len(jobs))

    def next_batch(self) -> Step | tuple[list[Job], list[Result], list[Job]]:
        """Claim due rows and settle those that need no sending; a Step when there are none."""
        self.beat()
        wanted, wait = take_tokens(self.rate_key, self.rate, self.batch_size)
        if not wanted:
            return Step(0, wait)
        jobs = self.claim(wanted)
        give_back_tokens(self.rate_key, wanted - len(jobs) if self.rate > 0 else 0)
        if not jobs:
            return Step(0, IDLE_WAIT, idle=True)
        self.report.claimed()
        results, sendable = self.sort(jobs)
        return jobs, results, sendable

    def claim(self, wanted: int) -> list[Job]:
        """Due rows; rows of dead engines when idle, and every RECLAIM_EVERY while busy."""
        jobs: list[Job] = []
        if timezone.now() - self.last_reclaim > RECLAIM_EVERY:
            self.last_reclaim = timezone.now()
            jobs = claim(wanted, self.lease, expired=True)
        if len(jobs) < wanted:
            jobs += claim(wanted - len(jobs), self.lease)
        if not jobs:
            jobs = claim(wanted, self.lease, expired=True)
        return jobs

    def process(self, jobs: list[Job]) -> list[Result]:
        results, sendable = self.sort(jobs)
        if sendable:
            results += send_guarded(self.transport, sendable)
        return results

    def sort(self, jobs: list[Job]) -> tuple[list[Result], list[Job]]:
        """Outcomes decided without sending (suppressed, unbuildable), and the jobs to send."""
        prepared_for = self._load({j.message_id for j in jobs})
        suppressed = suppression.suppressed_among(j.recipient for j in jobs)  # one query, hashed rows too
        paused = breaker.paused()
        made = refvalues.Makers()  # links made now carry this batch's time
        results, sendable = [], []
        for job in jobs:
            prepared = prepared_for[job.message_id]
            domain = breaker.domain_of(job.recipient) if paused else ""
            if isinstance(prepared, Unexpected):
                results.append(Result(job.id, TRANSIENT, f"the message cannot be built: {prepared.text}"))
            elif isinstance(prepared, Exception):
                results.append(Result(job.id, PERMANENT, f"the message cannot be built: {prepared}"))
            elif suppression.normalize(job.recipient) in suppressed:
                results.append(Result(job.id, Delivery.SUPPRESSED, "the address is on the suppression list"))
            elif domain in paused:
                results.append(Result(job.id, HELD, f"sending to {domain} is paused after repeated refusals for "
                                                    "policy or reputation", wait=paused[domain]))
            elif prepared.ref_values is not None and not prepared.ref_values.accepts(job.ref):
                results.append(Result(job.id, PERMANENT, f"the message cannot be built: its values ("
                                      f"{prepared.ref_values.name}) cannot be made from the ref {job.ref!r}"))
            else:
                job.prepared = prepared
                if prepared.ref_values is not None:
                    job.context = {**job.context, **made.values(prepared.ref_values, job.ref)}
                sendable.append(job)
        return results, sendable

    def _load(self, message_ids: set[int]) -> dict[int, Prepared | PreparedRaw | Exception]:
        """This batch's messages, rendered once and kept for the next batches (a bounded cache).

        A message that raises anything else than a known build error (a fault in rendering)
        is not kept: its copies are deferred and it is built again at their next attempt.
        """
        batch: dict[int, Prepared | PreparedRaw | Exception] = {}
        for message in Message.objects.filter(pk__in=message_ids - set(self.prepared)):
            try:
                self.prepared[message.pk] = prepare(message)
            except (HeaderError, ValueError) as exc:
                self.prepared[message.pk] = exc
            except DatabaseError:
                raise
            except Exception as exc:
                log.exception("delivery engine: message %s cannot be built; its copies are deferred", message.pk)
                batch[message.pk] = Unexpected(_describe(exc))
        for mid in message_ids - set(batch):
            self.prepared.move_to_end(mid)
            batch[mid] = self.prepared[mid]
        while len(self.prepared) > PREPARED_CACHE:
            self.prepared.popitem(last=False)
        return batch


class Unexpected(Exception):
    """A fault (not a known refusal) while building a message or sending a copy."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def send_guarded(transport: Transport, jobs: list[Job]) -> list[Result]:
    """transport.send(jobs), so that what it raises stays with the copy that caused it.

    If the batch raises, the connection is dropped and each copy is sent alone: those that
    raise again are deferred with the exception's text (and fail after the retry limit like
    any transient failure), the others go out. Copies the batch had handed over before it
    raised may go out twice, with the same Message-ID. Every fault is logged with its
    traceback, once per distinct text in a batch. Never raises an Exception.
    """
    try:
        results = transport.send(jobs)
    except Exception as exc:
        log.exception("delivery engine: transport %s raised for a batch of %d (%s); sending its copies one by one",
                      transport.name, len(jobs), reason_text(_describe(exc)))
        _reset(transport)
        return _one_by_one(transport, jobs)
    return _complete(results, jobs)


def _one_by_one(transport: Transport, jobs: list[Job]) -> list[Result]:
    """Each copy alone; after FAULTS_IN_A_ROW copies in a row raised the same, the rest of
    the batch is deferred untried with that reason (a transport broken for everyone)."""
    results: list[Result] = []
    faults: dict[str, list[int]] = {}
    last, in_a_row = "", 0
    for i, job in enumerate(jobs):
        try:
            results += _complete(transport.send([job]), [job])
            in_a_row = 0
            continue
        except Exception as exc:
            text = _describe(exc)
            if text not in faults:
                log.exception("delivery engine: transport %s raised for delivery %s; deferred",
                              transport.name, job.id)
        faults.setdefault(text, []).append(job.id)
        reason = f"{text} (fault in transport {transport.name})"
        results.append(Result(job.id, TRANSIENT, reason))
        _reset(transport)
        in_a_row, last = (in_a_row + 1 if text == last else 1), text
        if in_a_row >= FAULTS_IN_A_ROW and i + 1 < len(jobs):
            rest = jobs[i + 1:]
            log.error("delivery engine: %d copies in a row raised the same; %d more deferred untried",
                      in_a_row, len(rest))
            faults[text] += [j.id for j in rest]
            results += [Result(j.id, TRANSIENT, reason) for j in rest]
            break
    for text, ids in faults.items():
        if len(ids) > 1:
            log.error("delivery engine: the same fault for %d deliveries (ids %s…): %s",
                      len(ids), ", ".join(map(str, ids[:5])), reason_text(text))
    return results


def _complete(results: list[Result], jobs: list[Job]) -> list[Result]:
    """A transport that returned no outcome for some copies: those are deferred, not left leased."""
    missing = {j.id for j in jobs} - {r.id for r in results}
    if missing:
        log.error("delivery engine: the transport returned no outcome for %d deliveries; deferred", len(missing))
        results = results + [Result(i, TRANSIENT, "the transport returned no outcome") for i in sorted(missing)]
    return results


def _reset(transport: Transport) -> None:
    """Drop the connection after a fault: its state is unknown."""
    try:
        transport.reset()
    except Exception:
        log.exception("delivery engine: resetting transport %s failed", transport.name)


def run(stop: threading.Event, *, once: bool = False, engine: Engine | None = None) -> int:
    """Send until `stop` is set (or, with once=True, until nothing is due). Returns deliveries processed.

    While one batch is on the wire (in a helper thread that only talks to the mail server),
    this thread claims the next one and records the one before: the database work of a
    batch overlaps the sending of another. At most two batches are in flight.
    """
    engine = engine or Engine()
    engine.start()
    sending = Sending(engine)
    listener = None if once else wakeups.Listener()
    idle_since: float | None = None
    total = 0
    try:
        while not stop.is_set():
            try:
                batch = engine.next_batch()
                total += sending.swap(None if isinstance(batch, Step) else batch)
            except DatabaseError:
                # The database went away or is busy: claimed rows wait for their lease to run
                # out, so nothing is lost; try again shortly with a fresh connection.
                log.exception("delivery engine: database error; retrying in %s s", DB_RETRY_WAIT)
                sending.drop()
                connection.close()
                stop.wait(DB_RETRY_WAIT)
                continue
            except Exception:
                # A fault outside any one copy (sending faults stay with their copy, see
                # send_guarded): claimed rows wait for their lease, the engine goes on.
                log.exception("delivery engine: unexpected error; retrying in %s s", DB_RETRY_WAIT)
                sending.drop()
                stop.wait(DB_RETRY_WAIT)
                continue
            if not isinstance(batch, Step):
                idle_since = None
                continue
            if once and batch.idle:
                break
            if batch.idle:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= KEEP_OPEN:
                    engine.transport.close()
                engine.report.tick()
            _idle(stop, batch.wait, poll=batch.idle, listener=listener)
        total += sending.swap(None)
    finally:
        sending.close()
        if listener is not None:
            listener.close()
        engine.stop()
        if threading.current_thread() is not threading.main_thread():
            connection.close()
    return total


Batch = tuple[list[Job], list[Result], list[Job]]


def renew(ids: list[int], lease: timedelta) -> None:
    """Extend the lease of claimed rows still being worked on (sent or waiting to be)."""
    if ids:
        Delivery.objects.filter(pk__in=ids, status=Delivery.SENDING).update(lease_until=timezone.now() + lease)


@dataclass
class OnTheWire:
    """A batch being sent in the helper thread, handing over its outcomes chunk by chunk."""

    jobs: list[Job]
    sendable: list[Job]
    chunks: queue.Queue[list[Result]]
    ahead: threading.Semaphore  # chunks the sender may have sent and not yet seen recorded
    abandon: threading.Event
    future: Future[None] | None = None
    recorded: int = 0  # copies of `sendable` recorded so far
    tally: Tally = field(default_factory=Tally)  # the outcomes recorded so far, logged as one batch

    @cached_property
    def by_id(self) -> dict[int, Job]:
        return {j.id: j for j in self.jobs}


def send_in_chunks(transport: Transport, wire: OnTheWire) -> None:
    """The helper thread: send CHUNK copies at a time, each chunk's outcomes handed over to be
    recorded; never more than two chunks ahead of the records. Talks only to the mail server."""
    for start in range(0, len(wire.sendable), CHUNK):
        while not wire.ahead.acquire(timeout=0.5):
            if wire.abandon.is_set():
                return
        if wire.abandon.is_set():
            return
        wire.chunks.put(send_guarded(transport, wire.sendable[start:start + CHUNK]))


class Sending:
    """At most one batch on the wire, in a helper thread; its outcomes are recorded here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmooc-send")
        self.current: OnTheWire | None = None

    def swap(self, batch: Batch | None) -> int:
        """Record the batch on the wire as its chunks come back (renewing the leases of what
        is not recorded yet, `batch`'s too), then put `batch` on the wire and record what it
        settled without sending; returns how many outcomes of the first were recorded."""
        previous, self.current = self.current, None
        try:
            done = self._finish(previous, waiting=batch[0] if batch else []) if previous else 0
        except BaseException:
            self._abandon(previous)
            raise
        if batch is not None:
            jobs, results, sendable = batch
            wire = OnTheWire(jobs, sendable, queue.Queue(), threading.Semaphore(2), threading.Event())
            if sendable:
                wire.future = self.pool.submit(send_in_chunks, self.engine.transport, wire)
            self.current = wire
            self._record(wire, results)
        return done

    def _finish(self, wire: OnTheWire, waiting: list[Job]) -> int:
        every = self.engine.lease.total_seconds() / 3
        renewed = time.monotonic()
        while wire.recorded < len(wire.sendable):
            try:
                chunk = wire.chunks.get(timeout=min(1.0, every))
            except queue.Empty:
                if wire.future is not None and wire.future.done():
                    wire.future.result()  # the sender stopped early: say why
                    break
            else:
                self._record(wire, chunk)
                wire.recorded += CHUNK
                wire.ahead.release()
            if time.monotonic() - renewed > every:
                renewed = time.monotonic()
                renew([j.id for j in wire.sendable[wire.recorded:]] + [j.id for j in waiting], self.engine.lease)
        self.engine.report.recorded(wire.tally)
        return len(wire.jobs)

    def _record(self, wire: OnTheWire, results: list[Result]) -> None:
        if results:
            wire.tally.merge(record(results, wire.by_id, self.engine.max_attempts))

    def drop(self) -> None:
        """Forget the batch on the wire: the sender stops after its chunk in hand, and the rows
        not recorded keep their lease and are sent again later."""
        wire, self.current = self.current, None
        self._abandon(wire)

    @staticmethod
    def _abandon(wire: OnTheWire | None) -> None:
        if wire is not None and wire.future is not None:
            wire.abandon.set()
            try:
                wire.future.result()
            except Exception:
                log.exception("delivery engine: the batch on the wire stopped with an error")

    def close(self) -> None:
        self.drop()
        self.pool.shutdown(wait=True)


def drain(max_rounds: int = 100) -> int:
    """Run the engine in this thread until nothing is due; returns deliveries processed.

    For tests: no SQLite lock is taken, and the transport comes from settings.EMAIL_CONFIG
    as it is now (override it to point at a test SMTP server).
    """
    engine = Engine(use_lock=False)
    total = 0
    try:
        for _ in range(max_rounds):
            step = engine.step()
            if step.idle:
                break
            if not step.processed:
                time.sleep(step.wait)  # only under a rate limit
            total += step.processed
    finally:
        engine.transport.close()
    return total


