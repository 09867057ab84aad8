"""Group health (staff), remedies for quiet groups and the research export (organizers)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mmooc.audit.log import record
from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.groups.access import groups_for
from mmooc.groups.grouping import format_offset
from mmooc.groups.models import StudyGroup
from mmooc.insights import facts, health, remedy, research
from mmooc.insights.remedies import MERGE
from mmooc.lib.downloads import download
from mmooc.lib.paging import other_params
from mmooc.lib.staff import organizer_required, powers, staff_required

PAGE_SIZE = 50
ORDERS = {"score": lambda r: (r["health"].score, r["number"]),
          "-score": lambda r: (-r["health"].score, r["number"]),
          "number": lambda r: r["number"],
          "active": lambda r: (r["health"].active, r["number"])}

ORDER_LABELS = [("score", "lowest score first"), ("-score", "highest score first"), ("number", "by number"),
                ("active", "fewest active first")]


class HealthFilter(forms.Form):
    order = forms.ChoiceField(choices=[(o, o) for o in ORDERS], required=False)
    quiet = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1)


def _refuse(request: HttpRequest, cohort: Cohort, reason: str) -> HttpResponse:
    ctx = {"cohort": cohort, "reason": reason, "back_text": "Back to the proposals",
           "back_url": reverse("insights:remedies", args=[cohort.slug])}
    return render(request, "dashboard/refused.html", ctx, status=400)


@require_GET
@staff_required
def health_page(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = HealthFilter(request.GET)
    if not form.is_valid():
        ctx = {"cohort": cohort_obj, "form": form, "page": None}
        return render(request, "insights/health.html", ctx, status=400)
    now = timezone.now()
    week = facts.course_week(cohort_obj, now)
    visible = set(groups_for(request.user, cohort_obj).values_list("pk", flat=True))
    found = [f for f in facts.group_facts(cohort_obj, now) if f.group_id in visible]
    # Each group's number and capacity for the order and the flags; its row (the name) only for
    # the page shown, not for each of a large cohort's groups.
    known = {pk: (number, capacity) for pk, number, capacity in
             StudyGroup.objects.filter(cohort=cohort_obj).values_list("pk", "number", "capacity")}
    rows: list[dict[str, Any]] = [
        {"number": known[h.group_id][0], "health": h, "facts": f,
         # Closed: merged into another group, nobody left in it; not quiet, gone.
         "closed": not known[h.group_id][1] and not f.members}
        for h, f in zip(health.scores(found, week), found, strict=True)]
    for row in rows:
        row["quiet"] = row["health"].quiet and not row["closed"]
    quiet_count = sum(r["quiet"] for r in rows)
    if form.cleaned_data["quiet"]:
        rows = [r for r in rows if r["quiet"]]
    order = form.cleaned_data["order"] or "score"
    rows.sort(key=ORDERS[order])
    page = Paginator(rows, PAGE_SIZE).get_page(form.cleaned_data["page"] or 1)
    shown = StudyGroup.objects.in_bulk([row["health"].group_id for row in page.object_list])
    for row in page.object_list:
        row["group"] = shown[row["health"].group_id]
    ctx = {"cohort": cohort_obj, "form": form, "page": page, "rows": page.object_list, "order": order,
           "quiet": form.cleaned_data["quiet"], "quiet_count": quiet_count, "week": week, "orders": ORDER_LABELS,
           "window": health.WINDOW_WEEKS, "quiet_active": health.QUIET_ACTIVE,
           "quiet_after": health.QUIET_AFTER_WEEK, "query": other_params(request), **powers(request)}
    return render(request, "insights/health.html", ctx)


@require_GET
@organizer_required
def remedies_page(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    waiting = remedy.waiting(cohort_obj)  # read once: every confirmed learner is looked at
    proposals = remedy.proposals(cohort_obj, waiting=waiting)
    ctx = {"cohort": cohort_obj, "proposals": [_shown(p, cohort_obj) for p in proposals],
           "max_size": remedy.max_size(cohort_obj), "waiting": len(waiting)}
    return render(request, "insights/remedies.html", ctx)


def _shown(proposal: remedy.Proposal, cohort: Cohort) -> dict[str, object]:
    """A proposal as the page shows it: who moves where, and the time-zone spans."""
    r = proposal.remedy
    before = [{"group": g, "size": size, "span": span}
              for g, size, span in zip([proposal.target, *proposal.sources], r.sizes_before, r.spans_before,
                                       strict=True)]
    moving = [{"group": s, "members": remedy.members(s)} for s in proposal.sources]
    joiners = [{"learner": j, "offset": format_offset(remedy.zone_offset(j.timezone, cohort))}
               for j in proposal.joiners]
    return {"merge": r.kind == MERGE, "target": proposal.target, "before": before, "moving": moving,
            "joiners": joiners, "size_after": r.size_after, "span_after": r.span_after, "token": proposal.token}


class ApplyForm(forms.Form):
    token = forms.CharField(max_length=4000, error_messages={
        "required": "Choose a proposal to apply.", "max_length": "This proposal is not one this site made."})


@require_POST
@organizer_required
def apply_remedy(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = ApplyForm(request.POST)
    if not form.is_valid():
        return _refuse(request, cohort_obj, " ".join(map(str, form.errors["token"])))
    try:
        chosen = remedy.from_token(form.cleaned_data["token"])
        queued = remedy.apply(cohort_obj, chosen, request.user)
    except remedy.RemedyError as error:
        return _refuse(request, cohort_obj, str(error))
    done = (ngettext("Groups merged: {n} member will get an email.", "Groups merged: {n} members will get an email.",
                     queued) if chosen.kind == MERGE else
            ngettext("Groups re-seeded: {n} member will get an email.",
                     "Groups re-seeded: {n} members will get an email.", queued))
    messages.success(request, done.format(n=queued))
    return redirect("insights:remedies", cohort=cohort_obj.slug)


# The research export ----------------------------------------------------------------------


class ResearchForm(forms.Form):
    key = forms.RegexField(regex=r"\A[0-9a-f]{64}\Z", error_messages={
        "required": "The export needs its key: open the research export page again.",
        "invalid": "The key must be the 64 letters and digits the page gave. Open the page again."})


@require_GET
@never_cache
@organizer_required
def research_page(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    ctx = {"cohort": cohort_obj, "key": research.new_key(), "k": research.K}
    return render(request, "insights/research.html", ctx)


@require_POST
@organizer_required
def research_download(request: HttpRequest, cohort: str) -> HttpResponse | StreamingHttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = ResearchForm(request.POST)
    if not form.is_valid():
        ctx = {"cohort": cohort_obj, "reason": " ".join(map(str, form.errors["key"])),
               "back_text": "Back to the research export",
               "back_url": reverse("insights:research", args=[cohort_obj.slug])}
        return render(request, "dashboard/refused.html", ctx, status=400)
    now = timezone.now()
    spool = research.export_zip(cohort_obj, bytes.fromhex(form.cleaned_data["key"]), now)
    record(request.user, "export.downloaded", cohort_obj, f"Downloaded the research export of {cohort_obj.slug}",
           export="research.zip", k=research.K)
    return download(research.file_chunks(spool), "application/zip",
                    f"{cohort_obj.slug}-research-{now.strftime('%Y%m%d-%H%M')}.zip")
