"""The cohort's check-ins for staff: completion by week, the weekly summaries and their switch."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mmooc.audit import log as audit
from mmooc.checkins.intake import checkin_address
from mmooc.checkins.models import CohortSettings, Summary
from mmooc.checkins.pages import completion
from mmooc.courses.access import cohort_or_404
from mmooc.groups.access import groups_for
from mmooc.lib.staff import organizer_required, powers, staff_required


class SummaryForm(forms.Form):
    weekly_summary = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1",
                                            error_messages={"required": "Say whether to send weekly summaries.",
                                                            "invalid_choice": "Choose on or off."})


@require_GET
@staff_required
def checkins(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    ctx = {"cohort": cohort_obj, "completion": completion(cohort_obj),
           "settings": CohortSettings.for_cohort(cohort_obj), "address": checkin_address(cohort_obj),
           "summaries": Summary.objects.filter(group__in=groups_for(request.user, cohort_obj)).select_related("group")
           .order_by("-sent_at")[:20], **powers(request)}
    return render(request, "checkins/checkins.html", ctx)


@require_POST
@organizer_required
def summary_switch(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = SummaryForm(request.POST)
    if not form.is_valid():
        ctx = {"cohort": cohort_obj, "reason": " ".join(str(e) for e in form.errors["weekly_summary"])}
        return render(request, "dashboard/refused.html", ctx, status=400)
    on = form.cleaned_data["weekly_summary"]
    CohortSettings.objects.update_or_create(cohort=cohort_obj, defaults={"weekly_summary": on})
    audit.record(request.user, "checkins.summary_switched", cohort_obj,
                 f"Weekly check-in summaries turned {'on' if on else 'off'}", weekly_summary=on)
    messages.success(request, _("Weekly summaries are on.") if on else _("Weekly summaries are off."))
    return redirect("checkins:checkins", cohort=cohort_obj.slug)
