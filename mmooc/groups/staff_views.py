"""A cohort's study groups for staff: activity at a glance, one group's members, moderation."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, F, IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.groups import panels, staffing
from mmooc.groups.access import group_or_404, groups_for
from mmooc.groups.activity import activity, pages
from mmooc.groups.models import Membership, StudyGroup
from mmooc.lib import charts
from mmooc.lib.paging import other_params
from mmooc.lib.staff import powers, staff_required

GROUPS_PAGE_SIZE = 50
SPARK_WEEKS = 8
# "Quiet first" orders groups by their posts in this last stretch of time.
QUIET = timedelta(days=14)


def annotated_groups(cohort: Cohort, now: datetime | None = None) -> QuerySet[StudyGroup]:
    """Groups with size, recent and total posts, and last post, as subqueries (no row fan-out)."""
    now = now or timezone.now()
    members = Membership.objects.active().filter(group=OuterRef("pk")).order_by().values("group")
    size = Subquery(members.annotate(n=Count("id")).values("n")[:1], output_field=IntegerField())
    return activity().annotate(StudyGroup.objects.filter(cohort=cohort).annotate(size=Coalesce(size, 0)),
                               now - QUIET)


def get_group(cohort: Cohort, number: int) -> StudyGroup:
    return get_object_or_404(StudyGroup, cohort=cohort, number=number)


class GroupListFilter(forms.Form):
    quiet = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1)


@require_GET
@staff_required
def group_list(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = GroupListFilter(request.GET)
    if not form.is_valid():
        ctx = {"cohort": cohort_obj, "form": form, "page": None}
        return render(request, "groups/group_list.html", ctx, status=400)
    groups = annotated_groups(cohort_obj).filter(pk__in=groups_for(request.user, cohort_obj))
    if form.cleaned_data["quiet"]:
        # F(): the activity provider adds these annotations, which the type checker cannot see.
        groups = groups.order_by(F("posts_recent").asc(), F("last_post").asc(nulls_first=True), "number")
    else:
        groups = groups.order_by("number")
    page = Paginator(groups, GROUPS_PAGE_SIZE).get_page(form.cleaned_data["page"] or 1)
    weekly = posts_per_week(list(page.object_list))
    rows = [{"group": g, "spark": charts.sparkline(weekly[g.pk], title=_spark_title(weekly[g.pk])),
             "weekly": weekly[g.pk]}
            for g in page.object_list]
    ctx = {"cohort": cohort_obj, "form": form, "page": page, "query": other_params(request), "rows": rows,
           "quiet": form.cleaned_data["quiet"], "pages": pages(cohort_obj, request.user),
           "weeks": SPARK_WEEKS, **powers(request)}
    return render(request, "groups/group_list.html", ctx)


def posts_per_week(groups: list[StudyGroup], now: datetime | None = None) -> dict[int, list[int]]:
    """Posts per group in each of the last SPARK_WEEKS weeks (Monday-based), oldest first."""
    now = now or timezone.now()
    this_week = (now - timedelta(days=now.weekday())).date()
    weeks = [this_week - timedelta(weeks=i) for i in range(SPARK_WEEKS - 1, -1, -1)]
    counts = activity().posts_per_week(groups, weeks)
    return {g.pk: [counts.get((g.pk, w), 0) for w in weeks] for g in groups}


def _spark_title(weekly: list[int]) -> str:
    return f"Posts per week over the last {len(weekly)} weeks, oldest first: {', '.join(map(str, weekly))}"


@require_GET
@staff_required
def group_detail(request: HttpRequest, cohort: str, number: int) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    group = get_object_or_404(annotated_groups(cohort_obj).filter(pk__in=groups_for(request.user, cohort_obj)),
                              number=number)
    members = (Membership.objects.filter(group=group).select_related("learner")
               .order_by(F("left_at").desc(nulls_first=True), "learner__name"))
    weekly = posts_per_week([group])[group.pk]
    # A number field rather than a list: a large cohort has thousands of groups.
    last_number = StudyGroup.objects.filter(cohort=cohort_obj).aggregate(n=Max("number"))["n"]
    ctx = {"cohort": cohort_obj, "group": group, "members": members, "last_number": last_number,
           "archive_url": activity().archive_url(group), "weekly": weekly,
           "spark": charts.sparkline(weekly, title=_spark_title(weekly), width=240, height=48),
           "panels": panels.panels(group), "facilitators": staffing.facilitators(group),
           "candidates": staffing.candidates(group) if powers(request)["is_organizer"] else [], **powers(request)}
    return render(request, "groups/group_detail.html", ctx)


# Moderation ----------------------------------------------------------------------------


class MoveForm(forms.Form):
    to_group = forms.IntegerField(min_value=1, error_messages={
        "required": "Choose the group to move this member to."})


class MuteForm(forms.Form):
    muted = forms.TypedChoiceField(choices=[("1", "mute"), ("0", "unmute")], coerce=lambda v: v == "1",
                                   error_messages={"required": "Say whether to mute or unmute."})


def _membership(request: HttpRequest, cohort: Cohort, number: int, membership_id: int) -> Membership:
    group = group_or_404(request.user, cohort, number)
    return get_object_or_404(Membership.objects.active().select_related("learner", "group"),
                             pk=membership_id, group=group)


def _who(membership: Membership) -> str:
    return membership.learner.name or membership.learner.email


def _back(membership: Membership) -> HttpResponse:
    return redirect("groups:detail", cohort=membership.group.cohort.slug, number=membership.group.number)


def _refuse(request: HttpRequest, cohort: Cohort, reason: str) -> HttpResponse:
    ctx = {"cohort": cohort, "reason": reason}
    return render(request, "dashboard/refused.html", ctx, status=400)


@require_POST
@staff_required
def member_move(request: HttpRequest, cohort: str, number: int, membership_id: int) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    membership = _membership(request, cohort_obj, number, membership_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _refuse(request, cohort_obj, " ".join(map(str, form.errors["to_group"])))
    target = groups_for(request.user, cohort_obj).filter(number=form.cleaned_data["to_group"]).first()
    if target is None or target.pk == membership.group_id:
        return _refuse(request, cohort_obj, _("Choose another group of this cohort to move the member to."))
    from mmooc.groups import membership as memberships

    with transaction.atomic():
        memberships.move(membership.learner, target, request.user)
    messages.success(request, _("{who} moved to {group}.").format(who=_who(membership), group=target.name))
    return _back(membership)


@require_POST
@staff_required
def member_remove(request: HttpRequest, cohort: str, number: int, membership_id: int) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    membership = _membership(request, cohort_obj, number, membership_id)
    from mmooc.groups import membership as memberships

    with transaction.atomic():
        memberships.remove(membership, request.user)
    messages.success(request, _("{who} removed from the group.").format(who=_who(membership)))
    return _back(membership)


@require_POST
@staff_required
def member_mute(request: HttpRequest, cohort: str, number: int, membership_id: int) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    membership = _membership(request, cohort_obj, number, membership_id)
    form = MuteForm(request.POST)
    if not form.is_valid():
        return _refuse(request, cohort_obj, _("Say whether to mute or unmute this member."))
    muted = form.cleaned_data["muted"]
    from mmooc.groups import membership as memberships

    with transaction.atomic():
        memberships.set_muted(membership, muted, request.user)
    state = _("{who} is muted: their posts are no longer relayed.") if muted else _("{who} is no longer muted.")
    messages.success(request, state.format(who=_who(membership)))
    return _back(membership)

