"""Signing up: storing a signup (or a repeated one), the waitlist, forgetting stale signups.

What happens to a learner after that (confirming, leaving, unsubscribing, the group
choice, erasure) is in learners.lifecycle.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import cast

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.learners import links, mail
from mmooc.learners.models import Learner, Unsubscribe, WaitlistEntry, WaitlistNotice, email_key
from mmooc.learners.validation import country_for_zone
from mmooc.lib.clients import parse_address
from mmooc.operations import counters, ratelimits

log = logging.getLogger("mmooc.learners")
_SQLITE_WRITE_LOCK = threading.Lock()

# Signups per address per cohort within the window; a second try must still work.
RATE_LIMIT = getattr(settings, "LEARNER_SIGNUP_RATE", 5)
RATE_WINDOW = timedelta(hours=1)


@dataclass
class Signup:
    """A validated signup, ready to store."""

    email: str
    name: str = ""
    timezone: str = "UTC"
    language: str = "en"
    wants_group: bool = True
    answers: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return email_key(self.email)


def rate_limited(scope: str, address: str, limit: int = RATE_LIMIT) -> bool:
    """Count one attempt for `address`; True once it is over the limit for the window (counted
    in the database, so every process and machine shares the limit)."""
    digest = hashlib.sha256(email_key(address).encode()).hexdigest()[:32]
    with _sqlite_writer():  # a write too: on SQLite it queues with the signups' own
        count, _wait = ratelimits.hit(f"mmooc:rate:{scope}:{digest}", RATE_WINDOW.total_seconds())
    return count > limit


@dataclass(frozen=True)
class Refusal:
    """A signup refused for now by a limit: which one, and the seconds until it lifts."""

    limit: str  # "address", "client", "cohort" or "domain"
    wait: float
    domain: str = ""

    @property
    def minutes(self) -> int:
        return max(1, -(-int(self.wait) // 60))

    @property
    def message(self) -> str:
        later = f"Please try again in {self.minutes} minute{'s' if self.minutes != 1 else ''}."
        if self.limit == "address":
            return ("You have tried this address several times in a short while. Please look in your inbox "
                    f"(and spam folder) for our message. {later}")
        if self.limit == "client":
            return ("Many signups have come from your network in the last hour, so we have paused signups "
                    f"from it. {later} If you are signing up a class, each person can sign up on their own.")
        if self.limit == "domain":
            return (f"We are sending a great many emails to {self.domain} at the moment and must pace them. "
                    f"{later} Nothing has been stored yet.")
        return f"This cohort is receiving a great many signups at the moment. {later} Nothing has been stored yet."


def client_key(client: str) -> str:
    """The key a client address is counted under: an IPv6 client by its /64 (one host usually
    holds the whole of it), "" when there is no address (a Unix socket without a proxy)."""
    parsed = parse_address(client)
    if parsed is None:
        return ""
    if isinstance(parsed, IPv6Address):
        return str(IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def signup_refusal(cohort: Cohort, address: str, client: str, now: float | None = None) -> Refusal | None:
    """Count one signup attempt against every limit, in order: the address in this cohort,
    the client address, the cohort, the recipient domain's confirmation emails; the first
    over its limit refuses (and the later ones are not counted). Counted in the database,
    so every process and machine shares the limits."""
    window = RATE_WINDOW.total_seconds()
    domain = email_key(address).rpartition("@")[2]
    digest = hashlib.sha256(email_key(address).encode()).hexdigest()[:32]
    checks = [("address", f"mmooc:rate:signup:{cohort.id}:{digest}", RATE_LIMIT),
              ("client", f"signup:client:{client_key(client)}", settings.LEARNER_SIGNUPS_PER_CLIENT_HOUR),
              ("cohort", f"signup:cohort:{cohort.id}", settings.LEARNER_SIGNUPS_PER_COHORT_HOUR),
              ("domain", f"confirm:domain:{domain}", settings.LEARNER_CONFIRMATIONS_PER_DOMAIN_HOUR)]
    with _sqlite_writer():  # writes too: on SQLite they queue with the signups' own
        for limit, key, most in checks:
            if limit == "client" and not client_key(client):
                continue
            count, wait = ratelimits.hit(key, window, now=now)
            if count > most:
                log.info("signup refused: %s limit (%s), %d s to wait", limit, key, int(wait))
                return Refusal(limit, wait, domain)
    return None


FORM_SALT = "mmooc.learners.signup-form"


def form_started(now: float | None = None) -> str:
    """A signed timestamp for the signup form's hidden `started` field."""
    return signing.dumps(round(time.time() if now is None else now, 1), salt=FORM_SALT)


def looks_automated(started: object, now: float | None = None) -> bool:
    """Whether a posted form's `started` field is missing, forged or younger than
    MMOOC_SIGNUP_MIN_SECONDS: a person needs longer than that to fill in the form."""
    try:
        shown = float(signing.loads(str(started or ""), salt=FORM_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return True
    now = time.time() if now is None else now
    return now - shown < settings.LEARNER_SIGNUP_MIN_SECONDS


def register(cohort: Cohort, data: Signup, source: str = Learner.SIGNUP_FORM) -> Learner:
    """Store a signup and queue the email it needs; the same address again updates it."""
    # Everything a new signup needs is worked out before the transaction: on SQLite the
    # write lock is held from BEGIN, so only the two INSERTs happen while holding it.
    learner = _new_learner(cohort, data, source)
    confirmation = mail.prepare_confirmation(learner)
    with _sqlite_writer(), transaction.atomic():
        if _insert_new(learner):
            counters.add("signups", label=source)
            mail.send_confirmation(learner, confirmation)
            return learner
        learner = _existing(cohort, data)
        learner.cohort = cohort
        _update(learner, data)
        _mail_after_signup(learner)
    return learner


@contextmanager
def _sqlite_writer() -> Iterator[None]:
    """On SQLite, signups write one at a time: threads queue on a lock, processes on a file lock.

    SQLite lets one writer in; the others poll with growing sleeps, which under a burst of
    signups turns into long waits. Queued on locks, the next writer goes in as soon as the
    last one is done. PostgreSQL needs no such thing.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with _SQLITE_WRITE_LOCK:
        fd = _lock_file()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


_lock_fd: int | None = None


def _lock_file() -> int:
    global _lock_fd
    if _lock_fd is None:
        path = Path(settings.DATA_DIR) / "signups.lock"
        _lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return _lock_fd


def _new_learner(cohort: Cohort, data: Signup, source: str) -> Learner:
    return Learner(cohort=cohort, email=data.email, email_key=data.key, name=data.name, timezone=data.timezone,
                   country=country_for_zone(data.timezone), language=data.language,
                   wants_group=data.wants_group, answers=data.answers, source=source)


@lru_cache(maxsize=4)
def _insert_sql(vendor: str) -> tuple[str, tuple[Field, ...]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id (SQLite ≥ 3.35 and PostgreSQL): one
    statement that either makes the learner or tells that the address is already in."""
    fields = tuple(f for f in Learner._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    columns = [cast(str, f.column) for f in fields]  # concrete fields always have one
    sql = (f"INSERT INTO {quote(Learner._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) "
           f"ON CONFLICT ({quote('cohort_id')}, {quote('email_key')}) DO NOTHING RETURNING {quote('id')}")
    return sql, fields


def _insert_new(learner: Learner) -> bool:
    """Store a new learner; False when the cohort already has this address (the constraint
    learner_once_per_cohort settles racing duplicates: the later one inserts nothing)."""
    sql, fields = _insert_sql(connection.vendor)
    params = [f.get_db_prep_save(getattr(learner, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    learner.pk = row[0]
    learner._state.adding = False
    learner._state.db = connection.alias
    return True


def _existing(cohort: Cohort, data: Signup) -> Learner:
    """The learner already signed up with this address, locked for the update (on SQLite the
    transaction holds the write lock from its start, and select_for_update does nothing)."""
    return Learner.objects.select_for_update().get(cohort=cohort, email_key=data.key)


def _update(learner: Learner, data: Signup) -> None:
    """A signup again with the address of a pending learner refreshes it. Anyone may type any
    address into the form, so a learner who has confirmed (or left, or been erased) keeps their
    own choices: they change them on their page, through the lifecycle."""
    if learner.state != Learner.PENDING:
        return
    learner.name = data.name or learner.name
    learner.timezone = data.timezone
    learner.country = country_for_zone(data.timezone)
    learner.language = data.language
    learner.wants_group = data.wants_group
    learner.answers = data.answers
    learner.signed_up_at = timezone.now()  # a fresh confirmation link, a fresh expiry
    learner.save(update_fields=["name", "timezone", "country", "language", "wants_group", "answers",
                                "signed_up_at"])


def _mail_after_signup(learner: Learner) -> None:
    if learner.state == Learner.CONFIRMED and learner.unsubscribed_at is None:
        mail.send_page_link(learner)  # already in: remind them where their page is
    else:
        mail.send_confirmation(learner)  # new, or coming back: confirm first


def purge_unconfirmed(now: datetime | None = None) -> int:
    """Forget signups and waitlist entries never confirmed within the link's lifetime."""
    cutoff = (now or timezone.now()) - links.CONFIRM_MAX_AGE
    with transaction.atomic():
        removed, _ = Learner.objects.pending().filter(signed_up_at__lt=cutoff).delete()
        waiting, _ = WaitlistEntry.objects.filter(confirmed_at__isnull=True, created_at__lt=cutoff).delete()
    return removed + waiting


def join_waitlist(course, address: str) -> WaitlistEntry:  # a Course
    with transaction.atomic():
        entry, _ = WaitlistEntry.objects.get_or_create(
            course=course, email_key=email_key(address), defaults={"email": address})
        if entry.confirmed_at is None:
            mail.send_waitlist_confirmation(entry)
    return entry


def notify_waitlist(now: datetime | None = None) -> int:
    """Tell the confirmed waitlist of each course when one of its cohorts opens for signup:
    one email per person per cohort, recorded (WaitlistNotice) so it is never sent twice.
    Left out: addresses the mailer suppresses, that stopped all mail from the site, or
    already signed up for that cohort. Returns how many were told."""
    from mmooc.mailer.suppression import suppressed_among

    now = now or timezone.now()
    told = 0
    for cohort_id in Cohort.objects.signup_open(now).values_list("pk", flat=True):
        with transaction.atomic():
            # Locked, so two runs at once tell each person once.
            cohort = Cohort.objects.select_for_update().select_related("course").get(pk=cohort_id)
            entries = list(
                WaitlistEntry.objects.filter(course_id=cohort.course_id, confirmed_at__isnull=False,
                                             confirmed_at__lte=now)
                .exclude(notices__cohort=cohort)
                .exclude(email_key__in=Unsubscribe.objects.filter(scope=Unsubscribe.SITE).values("email_key"))
                .exclude(email_key__in=Learner.objects.filter(cohort=cohort).values("email_key"))
                .order_by("pk"))
            # Suppressed by address or by an erased learner's keyed hash: one query per cohort.
            barred = suppressed_among(e.email_key for e in entries)
            entries = [e for e in entries if e.email_key.lower() not in barred]
            if not entries:
                continue
            WaitlistNotice.objects.bulk_create([WaitlistNotice(entry=e, cohort=cohort, created_at=now)
                                                for e in entries])
            WaitlistEntry.objects.filter(pk__in=[e.pk for e in entries]).update(notified_at=now)
            told += mail.queue_waitlist_notices(cohort, entries)
        log.info("waitlist: told %d of %s that signup is open", len(entries), cohort.slug)
    return told
