"""A message's copies per status, counted by a periodic job rather than at every page load.

    tallies(ids)   {message id: Counts} for the pages, the command line and the exports:
                   as last counted, counted now when missing or older than MAIL_COUNTS_SECONDS
                   while copies are still going out
    totals_by(qs, field)  the same for a queryset of messages, added up per value of a field
                   (per scope: a cohort's copies, for its cost)
    count(ids)     the exact counts, now: the outbox rows plus the rows the retention job
                   deleted (DeliveryCount), in one statement
    run()          the periodic job `mailer.counts`: counts again the messages still going
                   out and those given copies since its last turn

A course email to a million learners has millions of copies: counting them per status on
every load of the overview, the emails page or the outbox took seconds. A message whose
copies have all finished keeps its counts (retention moves rows into DeliveryCount, which
the counts include); one that is given a copy later (a late joiner's) is found by the
job's mark (CountsMark), the highest outbox row id it has looked at. A copy written in a
transaction that commits after a later-numbered one was seen is missed until the message
is counted again (a page's look past MAIL_COUNTS_SECONDS does not recount a finished one). Pages say when the counts
were taken ("counts as of 12:04:31 UTC").

Nothing is written on the engine's send path: the counts come from the outbox itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DateTimeField, Max, Min, QuerySet, Sum, Value
from django.utils import timezone

from mmooc.mailer.models import CountsMark, Delivery, DeliveryCount, Message, MessageCounts

JOB = "mailer.counts"
EVERY = 30  # seconds between the job's turns
CHUNK = 500  # messages per statement
WAITING = (Delivery.QUEUED, Delivery.SENDING, Delivery.DEFERRED)
STATUSES = [s for s, _ in Delivery.STATUSES]  # MessageCounts has a column for each


@dataclass(frozen=True)
class Counts:
    """A message's (or an email's messages') copies per status, as of a time."""

    statuses: dict[str, int] = field(default_factory=dict)
    next_at: datetime | None = None
    last_sent_at: datetime | None = None
    as_of: datetime | None = None

    def get(self, status: str) -> int:
        return self.statuses.get(status, 0)

    @property
    def waiting(self) -> int:
        return sum(self.get(s) for s in WAITING)

    @property
    def sent(self) -> int:
        return self.get(Delivery.SENT)

    def every_status(self) -> dict[str, int]:
        """Every status present, zero when none (outbox.progress's shape)."""
        return {s: self.get(s) for s, _ in Delivery.STATUSES}

    def __add__(self, other: Counts) -> Counts:
        statuses = {s: self.get(s) + other.get(s) for s in {*self.statuses, *other.statuses}}
        return Counts(statuses, _earliest(self.next_at, other.next_at), _latest(self.last_sent_at, other.last_sent_at),
                      _earliest(self.as_of, other.as_of))


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a and b else a or b


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a and b else a or b


def total(found: Iterable[Counts]) -> Counts:
    result = Counts()
    for counts in found:
        result = result + counts
    return result


def count(message_ids: Iterable[int]) -> dict[int, Counts]:
    """The exact counts of these messages now. One statement per CHUNK messages, so that the
    outbox rows and the retention job's counts are read at one instant (a pruning batch moves
    rows from one to the other)."""
    ids = sorted(set(message_ids))
    now = timezone.now()
    found: dict[int, Counts] = {pk: Counts(as_of=now) for pk in ids}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        rows = (Delivery.objects.filter(message_id__in=chunk).order_by().values_list("message_id", "status")
                .annotate(n=Count("*"), first=Min("not_before"), last=Max("sent_at")))
        kept = (DeliveryCount.objects.filter(message_id__in=chunk).order_by()
                .values_list("message_id", "status", "count", Value(None, output_field=DateTimeField()),
                             Value(None, output_field=DateTimeField())))
        for message_id, status, n, first, last in rows.union(kept, all=True):
            waiting = first if status in WAITING else None
            sent = last if status == Delivery.SENT else None
            found[message_id] = found[message_id] + Counts({status: n}, waiting, sent, now)
    return found


def refresh(message_ids: Iterable[int]) -> dict[int, Counts]:
    """Count these messages now and keep the counts; returns them."""
    found = count(message_ids)
    rows = [MessageCounts(message_id=pk, **{s: c.get(s) for s in STATUSES}, next_at=c.next_at,
                          last_sent_at=c.last_sent_at, open=bool(c.waiting), counted_at=c.as_of or timezone.now())
            for pk, c in found.items()]
    MessageCounts.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["message"],
        update_fields=[*STATUSES, "next_at", "last_sent_at", "open", "counted_at"], batch_size=CHUNK)
    return found


def tallies(message_ids: Iterable[int]) -> dict[int, Counts]:
    """{message id: Counts} as kept; a message not counted yet, or still going out and counted
    more than MAIL_COUNTS_SECONDS ago, is counted now (with 0, every message, and nothing is kept)."""
    ids = set(message_ids)
    if not ids:
        return {}
    if settings.MAIL_COUNTS_SECONDS <= 0:
        return count(ids)
    return _kept(MessageCounts.objects.filter(message_id__in=ids), ids)


def totals_by(messages: QuerySet[Message], field: str) -> dict[str, Counts]:
    """The tallies() of a queryset's messages added up per value of a message's field (per
    `scope`: a cohort's copies, for its cost): the sums are the database's, in three statements
    however many messages (17,000 group welcomes in a cohort of a million)."""
    if settings.MAIL_COUNTS_SECONDS <= 0:
        keys = dict(messages.values_list("pk", field))
        return _by(count(keys), keys)
    stale_before = timezone.now() - timedelta(seconds=settings.MAIL_COUNTS_SECONDS)
    kept = MessageCounts.objects.filter(message__in=messages.values("pk"))
    stale = {*messages.filter(counts__isnull=True).values_list("pk", flat=True),
             *kept.filter(open=True, counted_at__lt=stale_before).values_list("message_id", flat=True)}
    if stale:
        refresh(stale)
    rows = (kept.order_by().values_list(f"message__{field}")
            .annotate(*(Sum(s) for s in STATUSES), Min("next_at"), Max("last_sent_at"), Min("counted_at")))
    return {key: Counts({s: n for s, n in zip(STATUSES, sums, strict=True) if n}, next_at, last_sent_at, as_of)
            for key, *sums, next_at, last_sent_at, as_of in rows}


def _by(found: dict[int, Counts], keys: dict[int, str]) -> dict[str, Counts]:
    totals: dict[str, Counts] = {}
    for pk, counts in found.items():
        totals[keys[pk]] = totals.get(keys[pk], Counts()) + counts
    return totals


def _kept(rows: QuerySet[MessageCounts], wanted: set[int]) -> dict[int, Counts]:
    """The counts of `rows` still good, and those of the other `wanted` messages counted now."""
    stale_before = timezone.now() - timedelta(seconds=settings.MAIL_COUNTS_SECONDS)
    read = list(rows)
    found = {row.message_id: _counts(row) for row in read if not (row.open and row.counted_at < stale_before)}
    stale = (wanted | {row.message_id for row in read}) - set(found)
    if stale:
        found.update(refresh(stale))
    return found


def _counts(row: MessageCounts) -> Counts:
    return Counts({s: getattr(row, s) for s in STATUSES if getattr(row, s)}, row.next_at, row.last_sent_at,
                  row.counted_at)


def to_recount(mark: int | None) -> set[int]:
    """The messages the job counts again: those still going out when last counted, and those
    given outbox rows past the job's mark (every kept one, the first time)."""
    if mark is None:
        return set(MessageCounts.objects.values_list("message_id", flat=True))
    ids = set(MessageCounts.objects.filter(open=True).values_list("message_id", flat=True))
    # In key order: a walk of the rows added since the mark, not of an index over the outbox.
    added = set(Delivery.objects.filter(id__gt=mark).order_by("id").values_list("message_id", flat=True).iterator())
    ids |= set(MessageCounts.objects.filter(message_id__in=added, open=False).values_list("message_id", flat=True))
    return ids


def run() -> int:
    """The periodic job: count again what may have changed; returns how many messages."""
    newest = Delivery.objects.aggregate(m=Max("id"))["m"] or 0  # read first: rows added later are past it
    kept = CountsMark.objects.filter(name=JOB).values_list("through_id", flat=True).first()
    ids = to_recount(kept)
    if ids:
        refresh(ids)
    CountsMark.objects.update_or_create(name=JOB, defaults={"through_id": newest})
    return len(ids)
