"""The group page's facilitators: organizers assign and unassign them (audited)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mmooc.courses.access import cohort_or_404
from mmooc.groups import staffing
from mmooc.groups.access import group_or_404
from mmooc.lib.staff import organizer_required


class FacilitatorForm(forms.Form):
    user = forms.CharField(max_length=150, error_messages={"required": _("Choose a facilitator.")})
    action = forms.ChoiceField(choices=[("assign", "assign"), ("unassign", "unassign")])


@require_POST
@organizer_required
def facilitators(request: HttpRequest, cohort: str, number: int) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    group = group_or_404(request.user, cohort_obj, number)
    form = FacilitatorForm(request.POST)
    user = User.objects.filter(username=form.data.get("user", "")).first() if form.is_valid() else None
    reason = ""
    if not form.is_valid():
        reason = " ".join(" ".join(map(str, e)) for e in form.errors.values())
    elif user is None:
        reason = _("There is no staff account named %(name)s.") % {"name": form.cleaned_data["user"]}
    else:
        try:
            if form.cleaned_data["action"] == "assign":
                staffing.assign(user, group, request.user)
                messages.success(request, _("%(name)s now facilitates %(group)s.")
                                 % {"name": user.get_username(), "group": group.name})
            else:
                staffing.unassign(user, group, request.user)
                messages.success(request, _("%(name)s no longer facilitates %(group)s.")
                                 % {"name": user.get_username(), "group": group.name})
        except staffing.StaffingError as exc:
            reason = str(exc)
    if reason:
        ctx = {"cohort": cohort_obj, "reason": reason, "back_text": _("Back to the group"),
               "back_url": reverse("groups:detail", args=[cohort_obj.slug, group.number])}
        return render(request, "dashboard/refused.html", ctx, status=400)
    return redirect("groups:detail", cohort=cohort_obj.slug, number=group.number)
