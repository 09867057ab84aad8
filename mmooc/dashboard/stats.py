"""The numbers behind the dashboard pages, each one aggregate query (or a few).

Nothing here loops over learners or deliveries in Python: a cohort of 100,000 learners
costs the same handful of queries as a cohort of ten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateField, Exists, F, Func, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate

from mmooc.courses.models import Cohort, Course
from mmooc.groups.models import Membership
from mmooc.learners.models import Learner, Unsubscribe
from mmooc.lib.timezones import utc_offset_hours
from mmooc.mailer import counts as mail_counts
from mmooc.mailer.models import Delivery, Message, Suppression

# What a provider reports after a send, in funnel order; rates are shares of the sent copies.
# Statuses still waiting to leave: they count as "scheduled" in the cost estimate.
WAITING = [Delivery.QUEUED, Delivery.SENDING, Delivery.DEFERRED]
# Statuses that reached (or will reach) the provider and are billed.
BILLED = [Delivery.SENT, *WAITING]


def day_of(field: str) -> Func:
    """The UTC date of a datetime column, for grouping by day."""
    if connection.vendor == "sqlite":
        # TruncDate calls back into Python for every row on SQLite (0.6 s for 100,000 rows);
        # times are stored there as UTC text, which SQLite's own date() reads directly.
        return Func(F(field), function="date", output_field=DateField())
    return TruncDate(field)


def learner_counts(cohorts: QuerySet[Cohort] | list[Cohort]) -> dict[int, dict[str, int]]:
    """{cohort id: {"total", "confirmed", "pending"}} for many cohorts in one query."""
    rows = (Learner.objects.filter(cohort__in=cohorts).values("cohort")
            .annotate(total=Count("id"), confirmed=Count("id", filter=Q(state=Learner.CONFIRMED)),
                      pending=Count("id", filter=Q(state=Learner.PENDING))))
    return {r["cohort"]: {"total": r["total"], "confirmed": r["confirmed"], "pending": r["pending"]}
            for r in rows}


@dataclass(frozen=True)
class Breakdown:
    """A cohort's learners counted by state, country, language, time zone and wish for a group,
    from one query: each count on the overview is a sum over these few hundred rows, instead
    of a scan of the cohort's learners per number.

    rows: (country, language, timezone, wants_group, state, learners): the columns in the order
    of the learner_cohort_breakdown index, so that the GROUP BY follows it (no sort)."""

    rows: list[tuple[str, str, str, bool, str, int]]

    def states(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for *_, state, n in self.rows:
            counts[state] += n
        return {code: counts[code] for code, _ in Learner.STATES}

    def _confirmed(self, column: int) -> Counter:
        counts: Counter = Counter()
        for row in self.rows:
            if row[-2] == Learner.CONFIRMED:
                counts[row[column]] += row[-1]
        return counts

    def by_field(self, field: str, limit: int = 20) -> list[tuple[str, int]]:
        """Confirmed learners per value of `field` (country, language), largest first."""
        counts = self._confirmed(FIELDS.index(field))
        ranked = sorted(counts.items(), key=lambda p: (-p[1], p[0]))[:limit]
        return [(value or "—", n) for value, n in ranked]

    def wishes(self) -> dict[str, int]:
        """Confirmed learners who want a group, and who chose to learn alone."""
        counts = self._confirmed(FIELDS.index("wants_group"))
        return {"group": counts[True], "solo": counts[False]}

    def utc_offsets(self, on: date) -> list[tuple[float, int]]:
        """Confirmed learners per UTC offset on `on` (daylight saving time of that day)."""
        offsets: Counter[float] = Counter()
        for name, n in self._confirmed(FIELDS.index("timezone")).items():
            try:
                offsets[utc_offset_hours(name, on)] += n
            except (ValueError, KeyError, OSError):
                offsets[0.0] += n  # an unknown zone name cannot be placed; UTC is what mail uses
        return sorted(offsets.items())


FIELDS = ("country", "language", "timezone", "wants_group", "state")


def breakdown(cohort: Cohort) -> Breakdown:
    rows = cohort.learners.values_list(*FIELDS).annotate(n=Count("*")).order_by()
    return Breakdown([tuple(r) for r in rows])


def signups_per_day(cohort: Cohort) -> list[tuple[date, int]]:
    """Every day from the first signup to the last, with zero for quiet days."""
    # Rows counted, not ids: PostgreSQL then reads the (cohort, signed_up_at) index alone.
    rows = dict(cohort.learners.annotate(day=day_of("signed_up_at")).values_list("day")
                .annotate(n=Count("*")).order_by())
    return _every_day(rows)


def _every_day(rows: dict[date, int]) -> list[tuple[date, int]]:
    if not rows:
        return []
    first, last = min(rows), max(rows)
    return [(first + timedelta(days=i), rows.get(first + timedelta(days=i), 0))
            for i in range((last - first).days + 1)]


def offset_label(hours: float) -> str:
    sign = "+" if hours >= 0 else "−"
    whole, minutes = divmod(round(abs(hours) * 60), 60)
    return f"UTC{sign}{whole}" + (f":{minutes:02d}" if minutes else "")


def group_vs_solo(cohort: Cohort, wishes: dict[str, int]) -> dict[str, int]:
    """Confirmed learners who want a group, who chose to learn alone, and who are in one now."""
    in_group = Membership.objects.active().filter(group__cohort=cohort).count()
    return {"wants_group": wishes["group"], "solo": wishes["solo"], "in_group": in_group}


def unsubscribes_per_day(cohort: Cohort) -> dict[date, int]:
    rows = (Unsubscribe.objects.filter(learner__cohort=cohort).annotate(day=day_of("created_at"))
            .values_list("day").annotate(n=Count("id")).order_by())
    return dict(rows)


def cohort_suppressions(cohort: Cohort) -> QuerySet[Suppression]:
    """Suppressed addresses that belong to this cohort's learners (matched by lower-cased address).

    Each suppression is looked up in the cohort's (cohort, email_key) unique index, rather
    than the cohort's addresses (100,000 of them) gathered first to look the few suppressions up in."""
    return Suppression.objects.filter(Exists(Learner.objects.filter(cohort=cohort, email_key=OuterRef("address"))))


def suppressions(cohort: Cohort) -> tuple[dict[date, int], dict[str, int]]:
    """The cohort's suppressed addresses per day and per reason, from one query."""
    per_day: Counter[date] = Counter()
    per_reason: Counter[str] = Counter()
    for day, reason, n in (cohort_suppressions(cohort).annotate(day=day_of("created_at"))
                           .values_list("day", "reason").annotate(n=Count("id")).order_by()):
        per_day[day] += n
        per_reason[reason] += n
    return dict(per_day), {code: per_reason[code] for code, _ in Suppression.REASONS}


def merged_days(*series: dict[date, int]) -> tuple[list[date], list[list[int]]]:
    """Several {day: n} series on one shared axis of consecutive days."""
    days = sorted(set().union(*series))
    if not days:
        return [], [[] for _ in series]
    axis = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    return axis, [[s.get(d, 0) for d in axis] for s in series]


# A message's copies: how many were sent and wait, when the next waiting one is due, the last sent.
Copies = mail_counts.Counts


# Cost ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    sent: int
    scheduled: int
    price_per_1000: Decimal
    currency: str
    learners: int  # confirmed learners: the people the course mail is for

    @property
    def copies(self) -> int:
        return self.sent + self.scheduled

    @property
    def total(self) -> Decimal:
        return _money(self.price_per_1000 * self.copies / 1000)

    @property
    def so_far(self) -> Decimal:
        return _money(self.price_per_1000 * self.sent / 1000)

    @property
    def per_learner(self) -> Decimal | None:
        if not self.learners:
            return None
        return (self.price_per_1000 * self.copies / 1000 / self.learners).quantize(Decimal("0.0001"))


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def mail_price() -> tuple[Decimal, str]:
    price = Decimal(str(getattr(settings, "MAIL_PRICE_PER_1000", 0.80)))
    return price, str(getattr(settings, "MAIL_CURRENCY", "USD"))


def costs_for(cohorts: list[Cohort]) -> dict[int, Cost]:
    """Each cohort's cost by primary key: billed copies (sent) and waiting ones (queued, sending,
    deferred) of its mail, in a few queries whatever the number of cohorts.

    The copies are those the mailer keeps counted per message (mailer.counts: the overview's
    and the email pages' counts, the rows the retention job deleted included): counting a
    cohort's copies at each look read the whole outbox (0.8 s at 2,400,000 copies)."""
    by_scope = {c.scope: c.pk for c in cohorts}
    copies: dict[int, dict[str, int]] = {c.pk: {} for c in cohorts}
    for scope, found in mail_counts.totals_by(Message.objects.filter(scope__in=list(by_scope)), "scope").items():
        copies[by_scope[scope]] = {status: found.get(status) for status in BILLED}
    learners = dict(Learner.objects.filter(cohort__in=cohorts).confirmed().values_list("cohort_id")
                    .annotate(n=Count("*")).order_by())
    price, currency = mail_price()
    return {pk: Cost(sent=counts.get(Delivery.SENT, 0), scheduled=sum(counts.get(s, 0) for s in WAITING),
                     price_per_1000=price, currency=currency, learners=learners.get(pk, 0))
            for pk, counts in copies.items()}


def total_cost(costs: Iterable[Cost]) -> Cost:
    """Costs added up (a course's, from its cohorts')."""
    found = list(costs)
    price, currency = mail_price()
    return Cost(sent=sum(c.sent for c in found), scheduled=sum(c.scheduled for c in found),
                price_per_1000=price, currency=currency, learners=sum(c.learners for c in found))


def cost_for(cohorts: list[Cohort]) -> Cost:
    """Billed and waiting copies of these cohorts' mail, added up."""
    return total_cost(costs_for(cohorts).values())


def course_cost(course: Course) -> Cost:
    return cost_for(list(course.cohorts.all()))
