"""The send planner: what scheduling an email would send, to whom, when, and what may stop it.

Two halves:

- `plan(...)` is a plain function: batches of copies (one per learner time zone, with the
  time they are due), copies per recipient domain, the quotas and the rate, other sends'
  copies due meanwhile, in; a `Plan` out. No database: tests give it worked examples.
- `plan_for(email)` gathers those inputs with aggregate queries (learners grouped by time
  zone, then by domain; other messages' queued copies grouped by message), then calls it.

The timing model. Copies leave in the order they fall due, at most `rate` a second (the
lower of MMOOC_MAIL_RATE and the provider's per-second quota; neither: at once). Copy k of
a run leaves (k - 1) / rate seconds after the run starts, so 50,000 copies at 14 a second
take 49,999 / 14 s = 59 min 31 s from the first to the last. Hourly and daily quotas are
counted in windows of one hour and 24 hours from the first copy (as a provider's rolling
24 hours would count them for this send alone): once a window's quota is used up, the next
copy waits for the next window, and the plan warns only when a copy did wait. A recipient
domain takes at most `per_domain_hour` copies an hour; its copies are taken to be spread
evenly over the send (its share of every hour's copies, as only totals per domain are
known), and what an hour brings over its quota waits for the next hours. The engine does
not hold those back (the domain defers them), so the plan warns, and reports the hour the
domain's last copy can arrive as the earliest the send is complete. Other sends share the
same rate and quotas: the plan warns about them but does not add them to these figures.

Regions group learners' IANA zones by their first part (`America/…` → Americas, `Europe/…`
→ Europe, `Africa/…`, `Asia/…`, `Australia/…` and `Pacific/…` → Oceania); `Atlantic/…`,
`Indian/…`, `Antarctica/…`, `Etc/…`, `UTC` and anything else → Other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# ---------------------------------------------------------------- quotas

QUOTA_KEYS = ("second", "hour", "day", "domain_hour")


@dataclass(frozen=True)
class Quotas:
    """The provider's sending limits; 0 means no limit."""

    per_second: float = 0.0
    per_hour: int = 0
    per_day: int = 0
    per_domain_hour: int = 0
    source: str = ""  # where the figures come from, said next to them

    def text(self) -> str:
        parts = [f"{_num(self.per_second)} a second" if self.per_second else "",
                 f"{self.per_hour:,} an hour" if self.per_hour else "",
                 f"{self.per_day:,} a day" if self.per_day else "",
                 f"{self.per_domain_hour:,} an hour per recipient domain" if self.per_domain_hour else ""]
        limits = ", ".join(p for p in parts if p) or "no limits"
        return f"{limits} ({self.source})" if self.source else limits


# The limits a new account starts with, as each provider publishes them (free plan, or
# Amazon SES's sandbox); a provider that publishes none has none here. Accounts differ:
# set MMOOC_PROVIDER_QUOTAS to your account's figures.
PROVIDER_DEFAULTS: dict[str, dict[str, float]] = {
    "amazon_ses": {"second": 1, "day": 200},  # sandbox; production quotas are per account
    "mailgun": {"day": 100},  # Free plan
    "sendgrid": {"day": 100},  # Free plan
    "brevo": {"day": 300},  # Free plan
    "mailjet": {"day": 200},  # Free plan
    "resend": {"second": 2, "day": 100},  # API rate limit; Free plan
}
PROVIDER_NAMES = {"amazon_ses": "Amazon SES", "mailgun": "Mailgun", "sendgrid": "SendGrid", "brevo": "Brevo",
                  "mailjet": "Mailjet", "resend": "Resend", "postmark": "Postmark", "sparkpost": "SparkPost",
                  "mandrill": "Mandrill", "mailersend": "MailerSend", "postal": "Postal",
                  "unisender_go": "Unisender Go", "smtp": "SMTP", "outbox": "The outbox"}


def quotas_for(provider: str, configured: dict[str, float]) -> Quotas:
    """The provider's default limits, overridden key by key by MMOOC_PROVIDER_QUOTAS."""
    values = {**PROVIDER_DEFAULTS.get(provider, {}), **configured}
    name = PROVIDER_NAMES.get(provider, provider)
    if configured:
        source = "MMOOC_PROVIDER_QUOTAS" + (f" and {name}'s defaults" if set(values) - set(configured) else "")
    elif provider in ("outbox", "smtp"):
        source = "none set; MMOOC_PROVIDER_QUOTAS sets them"
    elif provider in PROVIDER_DEFAULTS:
        source = f"{name}'s published defaults for a new account: check your account's limits"
    else:
        source = f"{name} publishes no default limits: check your account's limits"
    return Quotas(per_second=float(values.get("second", 0)), per_hour=int(values.get("hour", 0)),
                  per_day=int(values.get("day", 0)), per_domain_hour=int(values.get("domain_hour", 0)),
                  source=source)


def effective_rate(mail_rate: float, quotas: Quotas) -> float:
    """Copies a second: the lower of the engine's rate and the provider's; 0 = no limit."""
    limits = [r for r in (mail_rate, quotas.per_second) if r > 0]
    return min(limits) if limits else 0.0


# ---------------------------------------------------------------- regions

REGIONS = ("Americas", "Europe", "Africa", "Asia", "Oceania", "Other")
_PREFIXES = {"America": "Americas", "Europe": "Europe", "Africa": "Africa", "Asia": "Asia",
             "Australia": "Oceania", "Pacific": "Oceania"}


def region(zone: str | None) -> str:
    """The region of an IANA zone name, by its first part."""
    head, sep, _ = (zone or "").partition("/")
    return _PREFIXES.get(head, "Other") if sep else "Other"


# ---------------------------------------------------------------- inputs and result

@dataclass(frozen=True)
class Batch:
    """The copies of the learners of one time zone: all due at the same time."""

    zone: str
    copies: int
    due: datetime  # when they may leave (the schedule's time, or the end of the undo window)
    past_due: bool = False  # the schedule's time has passed for them: they go at once


@dataclass(frozen=True)
class OtherSend:
    """Another message's copies (any cohort) still to go, due within this send's window."""

    label: str
    copies: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class RegionTimes:
    region: str
    copies: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class Plan:
    recipients: int  # learners of the audience
    copies: int  # copies that would be queued
    skipped: int  # learners left out (the email's phase is over for them)
    domains: list[tuple[str, int]]  # top ten recipient domains, then ("others", n) if any
    first: datetime | None  # when the first and the last copy would leave
    last: datetime | None
    regions: list[RegionTimes]
    rate: float  # copies a second; 0 = no limit
    quotas: Quotas
    past_due: int = 0
    warnings: list[str] = field(default_factory=list)
    collisions: list[OtherSend] = field(default_factory=list)

    @property
    def duration(self) -> timedelta:
        return self.last - self.first if self.first and self.last else timedelta(0)

    def lines(self) -> list[str]:
        """The plan as text, for the command line."""
        out = [f"Recipients: {self.recipients:,}; copies: {self.copies:,}"
               + (f" ({self.skipped:,} left out: the email's phase is over for them)" if self.skipped else "")
               + "."]
        if self.domains:
            out.append("Copies by domain: " + ", ".join(f"{d} {n:,}" for d, n in self.domains) + ".")
        if self.first and self.last:
            out.append(f"First copy: {_when(self.first)}; last copy: {_when(self.last)} "
                       f"({duration_text(self.duration)}).")
            out.append("By region (UTC):")
            width = max(len(r.region) for r in self.regions)
            for r in self.regions:
                out.append(f"  {r.region:<{width}}  {r.copies:>9,}  {_when(r.first)} – {_when(r.last)}")
        out.append(f"Rate: {self.rate_text()}. Provider quotas: {self.quotas.text()}.")
        out += [f"Warning: {w}" for w in self.warnings]
        return out

    def rate_text(self) -> str:
        if not self.rate:
            return "no rate limit"
        return f"at most {_num(self.rate)} cop{'y' if self.rate == 1 else 'ies'} a second"

    def as_dict(self) -> dict:
        q = self.quotas
        return {"recipients": self.recipients, "domains": [{"domain": d, "copies": n} for d, n in self.domains],
                "regions": [{"region": r.region, "copies": r.copies, "first": r.first, "last": r.last}
                            for r in self.regions],
                "finishes": self.last, "duration_seconds": round(self.duration.total_seconds()), "rate": self.rate,
                "quotas": {"per_second": q.per_second, "per_hour": q.per_hour, "per_day": q.per_day,
                           "per_domain_hour": q.per_domain_hour, "source": q.source},
                "past_due": self.past_due, "warnings": list(self.warnings),
                "collisions": [{"label": o.label, "copies": o.copies, "first": o.first, "last": o.last}
                               for o in self.collisions]}


def _copies(n: int) -> str:
    return f"{n:,} cop{'y' if n == 1 else 'ies'}"


def _num(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) else f"{x:,.2f}".rstrip("0")


def _when(t: datetime) -> str:
    return f"{t:%a %-d %b %Y %H:%M} UTC"


def duration_text(d: timedelta) -> str:
    """'59 min 31 s', '3 h 5 min', '4 days 2 h 3 min'; whole seconds, rounded down."""
    s = int(d.total_seconds())
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "") + (
            f" {minutes} min" if minutes else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min" + (f" {s} s" if s else "")
    return f"{s} s"


# ---------------------------------------------------------------- the plan

TOP_DOMAINS = 10
HORIZON = timedelta(days=400)  # a send that would take longer is reported as such


def plan(batches: Sequence[Batch], domains: Iterable[tuple[str, int]], quotas: Quotas, rate: float, *,
         recipients: int | None = None, skipped: int = 0, others: Sequence[OtherSend] = ()) -> Plan:
    """The plan of a send: worked out from its batches, domains, quotas and rate alone."""
    batches = sorted((b for b in batches if b.copies > 0), key=lambda b: (b.due, b.zone))
    copies = sum(b.copies for b in batches)
    counted = sorted(((d, n) for d, n in domains if n > 0), key=lambda x: (-x[1], x[0]))
    top = counted[:TOP_DOMAINS]
    rest = copies - sum(n for _, n in top)
    shown = top + ([("others", rest)] if rest > 0 else [])
    recipients = copies + skipped if recipients is None else recipients
    if not batches:
        return Plan(recipients, 0, skipped, shown, None, None, [], rate, quotas)

    run = _leave_times(batches, rate, quotas.per_hour, quotas.per_day)
    times = run.times
    first = min(t[0] for t in times)
    last = max(t[1] for t in times)
    warnings: list[str] = []

    past_due = sum(b.copies for b in batches if b.past_due)
    if past_due:
        verb = "is" if past_due == 1 else "are"
        warnings.append(f"{_copies(past_due)} {verb} past due (their time has passed in the learners' zones): "
                        f"they go out at once, from {_when(first)}.")
    if "day" in run.waited:
        days = math.ceil(copies / quotas.per_day)
        warnings.append(f"Exceeds the daily quota of {quotas.per_day:,} by {_copies(copies - quotas.per_day)}: "
                        f"it needs {days} days' quotas and finishes at {_when(last)}.")
    if "hour" in run.waited:
        warnings.append(f"Exceeds the hourly quota of {quotas.per_hour:,}: copies wait for the next hour's, "
                        f"and the last leaves at {_when(last)}.")
    if quotas.per_domain_hour:
        for domain, n in counted:
            if n <= quotas.per_domain_hour:
                break
            held = _domain_backlog(run.hours, n / copies, quotas.per_domain_hour)
            if held is None:
                continue
            peak, hour = held
            earliest = first + timedelta(hours=hour)
            warnings.append(f"{domain} gets {n:,} copies, up to {peak:,} in one hour, more than the "
                            f"{quotas.per_domain_hour:,} an hour it takes: it will defer the rest (the engine "
                            f"does not hold them back), so its last copy arrives at {_when(earliest)} at the "
                            "earliest.")
            last = max(last, earliest)
    if not run.done:
        warnings.append(f"The send would take more than {HORIZON.days} days under these quotas.")
    window = [o for o in others if o.copies > 0 and o.first <= last and o.last >= first]
    if window:
        total = sum(o.copies for o in window)
        names = "; ".join(f"{o.label}: {_copies(o.copies)}" for o in window)
        warnings.append(f"Collides with {len(window)} other send{'s' if len(window) != 1 else ''}: "
                        f"{_copies(total)} of other messages {'is' if total == 1 else 'are'} due between "
                        f"{_when(first)} and {_when(last)} ({names}). "
                        "They share the rate and the quotas; the times above do not count them.")

    regions: dict[str, list] = {}
    for b, (start, end) in zip(batches, times, strict=True):
        r = regions.setdefault(region(b.zone), [0, start, end])
        r[0] += b.copies
        r[1], r[2] = min(r[1], start), max(r[2], end)
    by_region = [RegionTimes(name, *regions[name]) for name in REGIONS if name in regions]
    return Plan(recipients, copies, skipped, shown, first, last, by_region, rate, quotas, past_due,
                warnings, window)


@dataclass
class _Run:
    times: list[tuple[datetime, datetime]]  # (first, last) leaving time of each batch's copies
    done: bool  # all leave within HORIZON
    waited: set[str]  # "hour", "day": a quota held copies back
    hours: dict[int, float]  # copies leaving in each hour counted from the first copy


def _leave_times(batches: Sequence[Batch], rate: float, per_hour: int, per_day: int) -> _Run:
    """When each batch's copies leave.

    A fluid model: copies go in due order, `rate` a second (instantly without a rate), within
    the hourly and daily quotas counted from the first copy; copy k of a run leaves when the
    run has sent k - 1. Hour boundaries are events, so each step falls in one hour."""
    origin = batches[0].due
    due = [(b.due - origin).total_seconds() for b in batches]
    ends, cum = [], 0
    for b in batches:
        cum += b.copies
        ends.append(cum)
    starts = [e - b.copies for e, b in zip(ends, batches, strict=True)]
    total = cum
    first_t: list[float | None] = [None] * len(batches)
    last_t: list[float | None] = [None] * len(batches)
    t, sent, arrived, j = 0.0, 0.0, 0, 0
    hour_used = day_used = 0.0
    hour_end, day_end = 3600.0, 86400.0
    limit = HORIZON.total_seconds()
    mark = 0  # the first batch whose last copy has not left yet
    eps = 1e-9
    waited: set[str] = set()
    hours: dict[int, float] = {}
    while sent < total - eps and t <= limit:
        while j < len(batches) and due[j] <= t + eps:
            arrived += batches[j].copies
            j += 1
        if t >= hour_end - eps:
            hour_end += 3600.0 * (math.floor((t - hour_end) / 3600.0 + eps) + 1)
            hour_used = 0.0
        if t >= day_end - eps:
            day_end += 86400.0 * (math.floor((t - day_end) / 86400.0 + eps) + 1)
            day_used = 0.0
        backlog = arrived - sent
        allowance = min(per_hour - hour_used if per_hour else math.inf, per_day - day_used if per_day else math.inf)
        if allowance <= eps:
            day_spent = bool(per_day) and per_day - day_used <= eps
            t = day_end if day_spent else hour_end
            if backlog > eps:
                waited.add("day" if day_spent else "hour")
            elif j < len(batches):  # copies falling due before the next window will wait for it
                t = min(t, due[j])
            continue
        if backlog <= eps:
            t = due[j]
            continue
        next_event = min(due[j] if j < len(batches) else math.inf, hour_end, day_end if per_day else math.inf)
        room = (next_event - t) * rate if rate > 0 else math.inf
        x = min(backlog, allowance, room)
        # Copies numbered sent+1 … sent+x leave now: copy k at t + (k - 1 - sent) / rate.
        for i in range(mark, len(batches)):
            if starts[i] >= sent + x - eps:
                break
            if first_t[i] is None and starts[i] >= sent - eps:
                first_t[i] = t + ((starts[i] - sent) / rate if rate > 0 else 0.0)
            if ends[i] - 1 < sent + x - eps:
                last_t[i] = t + ((ends[i] - 1 - sent) / rate if rate > 0 else 0.0)
                mark = i + 1
        hour = int((t + eps) // 3600)
        hours[hour] = hours.get(hour, 0.0) + x
        sent += x
        hour_used += x
        day_used += x
        if rate > 0:
            t = next_event if x >= room - eps else t + x / rate
    done = sent >= total - eps

    def at(seconds: float | None) -> datetime:
        return origin + timedelta(seconds=min(limit, t) if seconds is None else seconds)

    return _Run([(at(a), at(b)) for a, b in zip(first_t, last_t, strict=True)], done, waited, hours)


def _domain_backlog(hours: dict[int, float], share: float, quota: int) -> tuple[int, int] | None:
    """(copies in the busiest hour, the last hour a held copy waits for) of a domain getting
    `share` of each hour's copies and taking `quota` an hour; None when it takes them all."""
    carry, last, k, end = 0.0, None, 0, max(hours)
    while k <= end or carry > 0.5:
        if carry > 0.5:
            last = k
        carry = max(0.0, carry + share * hours.get(k, 0.0) - quota)
        k += 1
    if last is None:
        return None
    return round(share * max(hours.values())), last


# ---------------------------------------------------------------- gathering the inputs

def settings_quotas() -> tuple[Quotas, float]:
    """The configured quotas and the rate copies leave at (MMOOC_MAIL_RATE and the quotas)."""
    from django.conf import settings

    quotas = quotas_for(settings.EMAIL_CONFIG.name, settings.PROVIDER_QUOTAS)
    return quotas, effective_rate(float(settings.MAIL_RATE_LIMIT), quotas)


def plan_for(email: Any, now: datetime | None = None) -> Plan:
    """The plan of scheduling `email` now, from a few aggregate queries: learners per zone,
    the top domains, and other messages' copies due in the plan's window."""
    from django.db.models import Count, Value
    from django.db.models.functions import StrIndex, Substr
    from django.utils import timezone

    from mmooc.emails import audience as audiences
    from mmooc.emails import phases, scheduling

    now = now or timezone.now()
    quotas, rate = settings_quotas()
    learners = audiences.recipients(email)
    if scheduling.email_schedule(email) is None:
        return plan([], [], quotas, rate)
    p = scheduling.Personalizer(email, now, with_groups=False, hold=scheduling.undo_delay())
    phase = phases.PhaseClock(email)
    batches, left_out, skipped = [], [], 0
    for zone, n in learners.values_list("timezone").annotate(n=Count("pk")).order_by():
        if phase.over(zone, p.leaves(zone)):
            skipped += n
            left_out.append(zone)
            continue
        batches.append(Batch(zone or "UTC", n, p.leaves(zone), past_due=p.instant(zone) < now))
    domain = Substr("email_key", StrIndex("email_key", Value("@")) + 1)
    domains = list(learners.exclude(timezone__in=left_out).annotate(domain=domain).values_list("domain")
                   .annotate(n=Count("pk")).order_by("-n", "domain")[:TOP_DOMAINS])
    found = plan(batches, domains, quotas, rate, skipped=skipped)
    if found.first is None or found.last is None:
        return found
    others = _others(email, found.first, found.last)
    return plan(batches, domains, quotas, rate, skipped=skipped, others=others) if others else found


def _others(email: Any, since: datetime, until: datetime) -> list[OtherSend]:
    """Copies of other messages (any cohort) not yet sent and due between `since` and `until`, per message."""
    from django.db.models import Count, Max, Min

    from mmooc.emails import scheduling
    from mmooc.emails.models import CourseEmail, CourseEmailVariant
    from mmooc.mailer.models import Delivery

    own = [m.pk for m in scheduling.messages_of(email)] if email.pk else []
    rows = list(Delivery.objects.filter(status__in=(Delivery.QUEUED, Delivery.DEFERRED),
                                        not_before__gte=since, not_before__lte=until)
                .exclude(message_id__in=own).values("message_id", "message__subject")
                .annotate(n=Count("pk"), first=Min("not_before"), last=Max("not_before")).order_by("first"))
    ids = [r["message_id"] for r in rows]
    labels = {e.message_id: e for e in CourseEmail.objects.filter(message_id__in=ids).select_related("cohort")}
    labels.update({v.message_id: v.email for v in CourseEmailVariant.objects.filter(message_id__in=ids)
                   .select_related("email__cohort")})
    out = []
    for r in rows:
        e = labels.get(r["message_id"])
        label = f"{e.cohort.slug}: {scheduling.shown_subject(e)!r}" if e else repr(r["message__subject"])
        out.append(OtherSend(label, r["n"], r["first"], r["last"]))
    return out
