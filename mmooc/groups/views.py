"""Staff pages for grouping (preview, apply, the group check) and the learners' yes/no pages."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.groups import check, welcome
from mmooc.groups.apply import (
    MAX_MIN_GROUP,
    apply_grouping,
    group_settings,
    minimum_group_size,
    preview_plan,
    set_minimum_group_size,
)
from mmooc.groups.grouping import GroupingError, Unplaced, summarize
from mmooc.groups.membership import move_nearer as move_to_nearer_group
from mmooc.groups.membership import set_delivery, waiting_learners
from mmooc.groups.models import GroupCheck, Grouping, Membership, StudyGroup
from mmooc.learners import links as learner_links
from mmooc.learners.decorators import signed_link
from mmooc.learners.models import Learner
from mmooc.lib import charts
from mmooc.lib.languages import activate_for
from mmooc.lib.staff import is_organizer, organizer_required

# Rows shown on the preview page; the summary and chart always cover every group.
PREVIEW_ROWS = 300
MAX_SIZE = 1000
MAX_SEED = 2**31 - 1


class GroupingForm(forms.Form):
    size = forms.IntegerField(required=False, min_value=2, max_value=MAX_SIZE, label=gettext_lazy("Target group size"),
                              error_messages={"min_value": "A group needs at least 2 people.",
                                              "max_value": f"Groups of more than {MAX_SIZE} are not study groups."})
    seed = forms.IntegerField(required=False, min_value=0, max_value=MAX_SEED, label=gettext_lazy("Seed"),
                              help_text=gettext_lazy("Changes only how ties are broken."))
    min_group = forms.IntegerField(required=False, min_value=1, max_value=MAX_MIN_GROUP,
                                   label=gettext_lazy("Minimum group size"),
                                   error_messages={"min_value": "The minimum group size is at least 1.",
                                                   "max_value": f"The minimum group size is at most {MAX_MIN_GROUP}."})


class MinimumForm(forms.Form):
    min_group = forms.IntegerField(required=False, min_value=1, max_value=MAX_MIN_GROUP,
                                   label=gettext_lazy("Minimum group size"),
                                   error_messages={"min_value": "The minimum group size is at least 1.",
                                                   "max_value": f"The minimum group size is at most {MAX_MIN_GROUP}."})


class ApplyForm(GroupingForm):
    confirm = forms.BooleanField(label=gettext_lazy("Yes, form these groups and send the welcome emails"),
                                 error_messages={"required": "Tick the box to confirm."})




def _page(request: HttpRequest, cohort: Cohort, form: forms.Form, *, status: int = 200,
          size: int | None = None, seed: int = 0) -> HttpResponse:
    groups, error = [], ""
    unplaced: tuple[Unplaced, ...] = ()
    # The preview stands whenever its own fields are valid: an Apply refused only for the
    # unticked box shows the same groups again, with what is missing.
    form.is_valid()
    minimum = getattr(form, "cleaned_data", {}).get("min_group")
    if not {"size", "seed", "min_group"} & set(form.errors):
        try:
            plan = preview_plan(cohort, target_size=size, seed=seed, min_group=minimum)
            groups, unplaced = plan.groups, plan.unplaced
        except GroupingError as exc:
            error, status = str(exc), 400
    existing = StudyGroup.objects.filter(cohort=cohort).count()
    last_check = check.last_check(cohort)
    ctx = {
        "cohort": cohort, "form": form, "groups": groups[:PREVIEW_ROWS], "more": max(0, len(groups) - PREVIEW_ROWS),
        "summary": summarize(groups), "chart": charts.spans_chart([g.span_hours for g in groups]) if groups else "",
        "error": error, "size": size or cohort.course.group_size, "seed": seed, "existing": existing,
        "waiting": waiting_learners(cohort).count() if existing else 0,
        "unwelcomed": welcome.pending_count(cohort) if existing else 0,
        "groupings": Grouping.objects.filter(cohort=cohort).order_by("-created_at")[:5],
        "can_apply": is_organizer(request.user), "last_check": last_check,
        "check_cancellable": last_check is not None and check.cancellable(last_check),
        "settings": group_settings(cohort, size, minimum), "unplaced": _with_learners(unplaced[:PREVIEW_ROWS]),
        "unplaced_count": len(unplaced), "min_group": minimum or minimum_group_size(cohort),
        "cohort_min_group": minimum_group_size(cohort), "site_min_group": settings.GROUP_MIN_SIZE,
    }
    return render(request, "groups/grouping.html", ctx, status=status)


def _with_learners(unplaced: tuple[Unplaced, ...]) -> list[tuple[Unplaced, Learner | None]]:
    found = Learner.objects.filter(pk__in=[u.id for u in unplaced]).only("pk", "name", "email", "public_id",
                                                                          "cohort_id").in_bulk()
    return [(u, found.get(u.id)) for u in unplaced]


@require_GET
@organizer_required
def grouping(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = GroupingForm(request.GET)
    if not form.is_valid():
        return _page(request, cohort_obj, form, status=400)
    return _page(request, cohort_obj, form, size=form.cleaned_data["size"], seed=form.cleaned_data["seed"] or 0)


@require_POST
@organizer_required
def apply(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    form = ApplyForm(request.POST)
    if not form.is_valid():
        data = getattr(form, "cleaned_data", {})
        return _page(request, cohort_obj, form, status=400, size=data.get("size"), seed=data.get("seed") or 0)
    size, seed = form.cleaned_data["size"], form.cleaned_data["seed"] or 0
    try:
        result = apply_grouping(cohort_obj, target_size=size, seed=seed, actor=request.user, welcome_now=False,
                                min_group=form.cleaned_data["min_group"])
    except GroupingError as exc:
        form.add_error("size", str(exc))
        return _page(request, cohort_obj, form, status=400)
    groups = ngettext("{n} group", "{n} groups", result.groups.count()).format(n=result.groups.count())
    learners = ngettext("{n} learner", "{n} learners", result.learner_count).format(n=result.learner_count)
    messages.success(request, _("{groups} formed for {learners}; the delivery engine is writing their welcome "
                                "emails into the outbox.").format(groups=groups, learners=learners))
    return redirect(reverse("groups:grouping", args=[cohort_obj.slug]))


@require_POST
@organizer_required
def minimum_size(request: HttpRequest, cohort: str) -> HttpResponse:
    """Keep a minimum group size for the cohort (empty: the site's again)."""
    cohort_obj = cohort_or_404(cohort, request.user)
    form = MinimumForm(request.POST)
    if not form.is_valid():
        return _page(request, cohort_obj, form, status=400)
    set_minimum_group_size(cohort_obj, form.cleaned_data["min_group"], actor=request.user)
    messages.success(request, f"The minimum group size of {cohort_obj.slug} is now {minimum_group_size(cohort_obj)}.")
    return redirect(reverse("groups:grouping", args=[cohort_obj.slug]))


@require_POST
@organizer_required
def send_check(request: HttpRequest, cohort: str) -> HttpResponse:
    """Ask "Send N copies now?" for more than a handful; then queue them held for the undo window."""
    cohort_obj = cohort_or_404(cohort, request.user)
    back = reverse("groups:grouping", args=[cohort_obj.slug])
    if check.phase_over(cohort_obj):
        ctx = {"cohort": cohort_obj, "back_url": back, "back_text": _("Back to grouping"),
               "reason": _("The cohort has started: the question is for before the start, so it was not sent.")}
        return render(request, "dashboard/refused.html", ctx, status=400)
    count = check.asked(cohort_obj).count()
    if check.needs_confirmation(count):
        reason = check.confirmed(cohort_obj, count, request.POST.get("confirm"))
        if reason is not None:
            window = check.undo_window()
            ctx = {"cohort": cohort_obj, "count": count, "reason": reason, "back_url": back,
                   "token": check.confirmation(cohort_obj, count), "undo_minutes": _minutes(window),
                   "first": timezone.now() + window}
            return render(request, "groups/check_confirm.html", ctx, status=400 if reason else 200)
    sent = check.send_group_check(cohort_obj, actor=request.user, hold=check.undo_window())
    messages.success(request, ngettext(
        "Asked %(n)s learner whether they still want a group. The copy is held until %(at)s UTC: "
        "until then you can cancel it below.",
        "Asked %(n)s learners whether they still want a group. The copies are held until %(at)s UTC: "
        "until then you can cancel them below.", sent.learner_count)
        % {"n": f"{sent.learner_count:,}", "at": f"{sent.held_until or sent.sent_at:%H:%M}"})
    return redirect(back)


def _minutes(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 60:
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    return ngettext("%(n)s minute", "%(n)s minutes", seconds // 60) % {"n": seconds // 60}


@require_POST
@organizer_required
def check_cancel(request: HttpRequest, cohort: str, check_id: int) -> HttpResponse:
    """Cancel a group check's copies not yet sent (the undo window, or later while copies wait)."""
    cohort_obj = cohort_or_404(cohort, request.user)
    sent = get_object_or_404(GroupCheck, cohort=cohort_obj, pk=check_id)
    back = reverse("groups:grouping", args=[cohort_obj.slug])
    if not check.cancellable(sent):
        ctx = {"cohort": cohort_obj, "back_url": back, "back_text": _("Back to grouping"),
               "reason": _("This group check was cancelled already, or every copy has left: there is nothing "
                           "to cancel.")}
        return render(request, "dashboard/refused.html", ctx, status=400)
    stopped = check.cancel_check(sent, request.user)
    messages.success(request, ngettext("Cancelled: %(n)s copy will not be sent.",
                                       "Cancelled: %(n)s copies will not be sent.", stopped) % {"n": f"{stopped:,}"})
    return redirect(back)


@require_http_methods(["GET", "POST"])
def check_answer(request: HttpRequest, token: str, answer: str) -> HttpResponse:
    """A learner's yes or no: GET shows the button (mail scanners change nothing), POST records it."""
    if answer not in (check.YES, check.NO):
        raise Http404("This link is not valid or has expired.")
    learner = check.learner_from_token(token)
    activate_for(request, learner.language)
    done = request.method == "POST"
    if done:
        check.record_answer(learner, answer)
    ctx = {"learner": learner, "course": learner.cohort.course, "answer": answer, "done": done}
    return render(request, "groups/check.html", ctx)


@require_POST
@signed_link
def delivery(request: HttpRequest, token: str) -> HttpResponse:
    """A member's choice, from their page: each post as it comes, one daily digest, or web only."""
    learner = learner_links.learner_from_token(token, learner_links.PAGE)
    activate_for(request, learner.language)
    choice = request.POST.get("delivery", "")
    membership = Membership.objects.active().filter(learner=learner).select_related("learner").first()
    if membership is None or choice not in dict(Membership.DELIVERY):
        return HttpResponseBadRequest(_("Choose each post, a daily digest or web only, as a member of a group."),
                                      content_type="text/plain; charset=utf-8")
    set_delivery(membership, choice, via="page")
    done = {Membership.DIGEST: _("You will get one daily digest of the group's posts."),
            Membership.WEB: _("You will get no group mail: read the group's posts in its archive. "
                              "Choose each post or a daily digest here to get them by email again."),
            Membership.EACH: _("You will get each of the group's posts as it comes.")}
    messages.success(request, done[choice])
    return HttpResponseRedirect(reverse("learners:page", args=[token]))


@require_POST
@signed_link
def move_nearer(request: HttpRequest, token: str) -> HttpResponse:
    """A member takes the offer on their page of a group nearer their new time zone; nothing
    changes unless they press its button."""
    learner = learner_links.learner_from_token(token, learner_links.PAGE)
    activate_for(request, learner.language)
    number = request.POST.get("group", "")
    try:
        membership = move_to_nearer_group(learner, int(number) if number.isdigit() and len(number) < 9 else -1)
    except GroupingError as refused:
        messages.error(request, str(refused))
        return HttpResponseRedirect(reverse("learners:page", args=[token]), status=303)
    messages.success(request, _("You are now in %(group)s: write to everyone at %(address)s.") % {
        "group": membership.group.name, "address": membership.group.address})
    return HttpResponseRedirect(reverse("learners:page", args=[token]))
