"""Staff pages: home (courses and cohorts), the audit log, a cohort's overview, mail cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django import forms
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mmooc.audit.models import AuditEntry
from mmooc.checkins import pages as checkin_pages
from mmooc.courses.access import cohort_or_404, cohorts_for, course_or_404
from mmooc.courses.models import Cohort, Course
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.lib import charts, subjects
from mmooc.lib.paging import other_params
from mmooc.lib.staff import is_sitewide, organizer_required, powers, sitewide_required, staff_required

from . import stats

AUDIT_PAGE_SIZE = 50


@require_GET
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    visible = cohorts_for(request.user)
    shown = Course.objects.all() if is_sitewide(request.user) else Course.objects.filter(
        pk__in=visible.values("course_id"))
    courses = list(shown.prefetch_related(Prefetch("cohorts", queryset=visible)))
    counts = stats.learner_counts(visible)
    rows = []
    for course in courses:
        cohorts = [{"cohort": c, "phase": c.stage(), "counts": counts.get(c.pk, {})}
                   for c in course.cohorts.all()]
        rows.append({"course": course, "cohorts": cohorts})
    ctx = {"courses": rows, **powers(request)}
    return render(request, "dashboard/home.html", ctx)


class AuditFilter(forms.Form):
    action = forms.CharField(required=False, max_length=64)
    page = forms.IntegerField(required=False, min_value=1)


@require_GET
@sitewide_required
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET)
    if not form.is_valid():
        ctx = {"form": form, "actions": [], "page": None}
        return render(request, "dashboard/audit.html", ctx, status=400)
    entries = AuditEntry.objects.select_related("actor")
    action = form.cleaned_data["action"]
    if action:
        entries = entries.filter(action=action)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(form.cleaned_data["page"] or 1)
    actions = AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct()
    rows = [(e, subjects.shown(e.summary)) for e in page]
    ctx = {"form": form, "page": page, "rows": rows, "query": other_params(request), "action": action,
           "actions": list(actions)}
    return render(request, "dashboard/audit.html", ctx)


@require_GET
@staff_required
def overview(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    # Each aggregate over the cohort's learners is read once, for the numbers and the charts.
    learners, unsubscribed = stats.breakdown(cohort_obj), stats.unsubscribes_per_day(cohort_obj)
    suppressed_per_day, suppressed = stats.suppressions(cohort_obj)
    ctx = {"cohort": cohort_obj, "phase": cohort_obj.stage(), **powers(request),
           **_overview_numbers(cohort_obj, learners, unsubscribed, suppressed),
           **_overview_charts(cohort_obj, learners, unsubscribed, suppressed_per_day), **_email_state(cohort_obj),
           "cost": stats.cost_for([cohort_obj]),
           "completion": checkin_pages.completion(cohort_obj)}
    return render(request, "dashboard/overview.html", ctx)


def _overview_numbers(cohort: Cohort, learners: stats.Breakdown, unsubscribed: dict[date, int],
                      suppressed: dict[str, int]) -> dict[str, object]:
    return {"states": learners.states(), "group_vs_solo": stats.group_vs_solo(cohort, learners.wishes()),
            "countries": learners.by_field("country"), "languages": learners.by_field("language"),
            "suppressions": suppressed, "unsubscribes": sum(unsubscribed.values())}


def _overview_charts(cohort: Cohort, learners: stats.Breakdown, unsubscribed: dict[date, int],
                     suppressed: dict[date, int]) -> dict[str, str]:
    signups = stats.signups_per_day(cohort)
    offsets = learners.utc_offsets(cohort.start_date)
    days, (unsubs, supps) = stats.merged_days(unsubscribed, suppressed)
    languages = learners.by_field("language", limit=12)
    return {
        "signups_chart": charts.bar("Signups per day", [d.strftime("%b %-d") for d, _ in signups],
                                    {"Signups": [n for _, n in signups]}, rotate=30),
        "offsets_chart": charts.bar("Learners by UTC offset on the start date",
                                    [stats.offset_label(h) for h, _ in offsets],
                                    {"Learners": [n for _, n in offsets]}, width=480, height=360, rotate=45),
        "languages_chart": charts.bar("Languages", [code for code, _ in languages],
                                      {"Learners": [n for _, n in languages]}, width=480, height=360),
        "optouts_chart": charts.line("Unsubscribes and suppressions per day",
                                     [d.strftime("%b %-d") for d in days],
                                     {"Unsubscribes": unsubs, "Suppressions": supps}, height=280),
    }


@dataclass(frozen=True)
class EmailRow:
    """A course email on the overview, with its copies and when the next one is due."""

    email: CourseEmail
    copies: stats.Copies
    next_at: datetime | None
    subject: str
    state: tuple[str, str]


def _email_state(cohort: Cohort) -> dict[str, object]:
    """The cohort's course emails with their copies: the next one due and the last one sent.

    States and subjects come from the same functions as the emails page and the command line.
    """
    found = CourseEmail.objects.filter(cohort=cohort).select_related("cohort__course", "module", "message")
    scheduling.refresh_states(found)
    emails = list(found)
    copies = stats.email_deliveries([e.message_id for e in emails if e.message_id])
    rows = []
    for e in emails:
        c = copies.get(e.message_id, stats.Copies()) if e.message_id else stats.Copies()
        rows.append(EmailRow(e, c, _next_at(e, c), scheduling.shown_subject(e), scheduling.shown_state(e)))
    due = [(r, r.next_at) for r in rows if r.next_at is not None]
    sent = [(r, r.copies.last_sent_at) for r in rows if r.copies.last_sent_at is not None]
    as_of = [c.as_of for c in copies.values() if c.as_of]
    return {"emails": rows, "next_email": min(due, key=lambda p: p[1])[0] if due else None,
            "last_email": max(sent, key=lambda p: p[1])[0] if sent else None,
            "counts_as_of": min(as_of) if as_of else None}


def _next_at(email: CourseEmail, copies: stats.Copies) -> datetime | None:
    """When the email's next copy is due: never for one whose copies have all left."""
    if copies.waiting:
        return copies.next_at
    if email.state == CourseEmail.SCHEDULED and not email.message_id:
        return _when(email)
    return None


def _when(email: CourseEmail) -> datetime | None:
    """When a scheduled email goes out (for local-time emails: the start of that day)."""
    if email.send_at:
        return email.send_at
    if email.day_offset is not None:
        return email.cohort.start_at() + timedelta(days=email.day_offset)
    return None


@require_GET
@organizer_required
def cohort_cost(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    costs = stats.costs_for([*cohort_obj.course.cohorts.all()])
    ctx = {"cohort": cohort_obj, "cost": costs[cohort_obj.pk],
           "course_cost": stats.total_cost(costs.values()), **powers(request)}
    return render(request, "dashboard/cost.html", ctx)


@require_GET
@organizer_required
def course_cost(request: HttpRequest, course: str) -> HttpResponse:
    course_obj = course_or_404(course, request.user)
    cohorts = list(cohorts_for(request.user).filter(course=course_obj))
    costs = stats.costs_for(cohorts)
    per_cohort = [(c, costs[c.pk]) for c in cohorts]
    ctx = {"course": course_obj, "course_cost": stats.total_cost(costs.values()), "per_cohort": per_cohort}
    return render(request, "dashboard/course_cost.html", ctx)
