"""Staff pages for course emails: list, compose with live preview, schedule, copies, uploads.

Every staff member may read; only organizers change, schedule or send (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.emails import audience as audiences
from mmooc.emails import confirm, planner, scheduling, templating
from mmooc.emails.forms import CopyForm, EmailForm, UploadForm, initial_for
from mmooc.emails.models import CourseEmail
from mmooc.lib import clock
from mmooc.lib.languages import speaking
from mmooc.lib.mailrender import markdown_to_html
from mmooc.lib.staff import is_organizer, organizer_required, staff_required, staff_user


def _email(cohort: Cohort, public_id: Any) -> CourseEmail:
    return get_object_or_404(CourseEmail.objects.select_related("cohort__course", "module", "message"),
                             cohort=cohort, public_id=public_id)


def _edit_url(email: CourseEmail) -> str:
    return reverse("emails:edit", args=[email.cohort.slug, email.public_id])


# ---------------------------------------------------------------- list

@staff_required
@require_GET
def email_list(request: HttpRequest, cohort: str) -> HttpResponse:
    c = cohort_or_404(cohort, request.user)
    emails = c.emails.select_related("cohort__course", "module", "message").order_by(
        "trigger", "day_offset", "send_at", "pk")
    scheduling.refresh_states(emails)
    rows = [(e, scheduling.email_schedule(e), audiences.describe(e.audience or {}), scheduling.shown_subject(e),
             scheduling.shown_state(e)[1]) for e in emails]
    ctx = {"cohort": c, "rows": rows, "can_send": is_organizer(request.user),
           "copy_form": CopyForm(cohort=c), "upload_form": UploadForm(), "section": "emails"}
    return render(request, "emails/list.html", ctx)


# ---------------------------------------------------------------- compose

def _values(form: EmailForm, email: CourseEmail) -> CourseEmail:
    """The email as the form describes it (not saved)."""
    data = form.cleaned_data
    email.subject, email.body = data["subject"], data["body"]
    position = data.get("module")
    email.module = email.cohort.course.modules.filter(position=position).first() if position else None
    email.audience = data.get("audience_json") or {"kind": audiences.ALL}
    email.trigger = CourseEmail.TRIGGER_WELCOME if data.get("welcome") else ""
    email.phase = data.get("phase") or CourseEmail.PHASE_ANY
    if not email.trigger and data.get("schedule_spec"):
        scheduling.apply_schedule(email, data["schedule_spec"])
    return email


def _preview(email: CourseEmail, preview_as: str) -> dict[str, Any]:
    """What one learner (or a sample) would receive, with the problems and the audience count."""
    found = scheduling.problems(email)
    learner, note = None, ""
    if preview_as.strip():
        learner = email.cohort.learners.filter(email_key=preview_as.strip().lower()).first()
        note = "" if learner else _("No learner {address} in this cohort: showing a sample learner.").format(
            address=repr(preview_as.strip()))
    result: dict[str, Any] = {"problems": found, "note": note, "subject": "", "html": "", "language": ""}
    # A learner whose language has a variant sees it, as they would receive it.
    variant = scheduling.variant_for(email, learner.language) if learner is not None else None
    if variant is not None and not found:
        from mmooc.emails.variants import preview as variant_preview

        shown = variant_preview(email, variant, learner)
        result.update(problems=shown["problems"], subject=shown["subject"], html=shown["html"],
                      language=variant.language,
                      note=_("In {language}, the learner's language.").format(
                          language=dict(scheduling.variant_languages())[variant.language]))
    elif not found:
        with speaking(settings.LANGUAGE_CODE):
            subject, body = scheduling.render_email(email, for_learners=True)
        values = scheduling.sample_context(email, learner)
        result["subject"] = templating.personalize(subject, values)
        result["html"] = markdown_to_html(templating.personalize(body, values))
    # One read of the audience serves its size, the missing translations and the send times.
    per_language, zones = scheduling.audience_outline(email) if email.audience else ({}, None)
    result["per_language"], result["count"] = per_language, sum(per_language.values())
    result["timing"] = _timing(email, zones)
    if email.phase and not email.trigger and not found:
        note = confirm.outlook(email).note
        result["timing"] = f"{result['timing']} {note}".strip()
    return result


def _timing(email: CourseEmail, zones: set[str] | None = None) -> str:
    if email.trigger:
        return _("Sent to each learner when they confirm their signup.")
    spec = scheduling.email_schedule(email)
    times = scheduling.first_and_last(email, zones)
    if spec is None or times is None:
        return ""
    if spec.kind == "now":
        return _("Sent as soon as it is scheduled.")
    first, last = (clock.utc_stamp(t) for t in times)  # staff pages' one way of writing an instant
    late = (" " + _("This time has passed: copies due then go out at once.")) if times[1] < timezone.now() else ""
    if first == last:
        return _("Sent %(first)s UTC.") % {"first": first} + late
    return _("Sent from %(first)s UTC to %(last)s UTC, at the chosen time in each learner's zone.") % {
        "first": first, "last": last} + late


def _page(request: HttpRequest, cohort: Cohort, email: CourseEmail | None, form: EmailForm,
          preview: dict | None = None, status: int = 200, question: dict | None = None) -> HttpResponse:
    locked = bool(email and email.pk and scheduling.is_locked(email))
    modules = [{"position": m.position, "title": m.title, "markdown": _resource_list(m)}
               for m in cohort.course.modules.prefetch_related("resources")]
    ctx = {"cohort": cohort, "email": email, "form": form, "preview": preview, "locked": locked,
           "can_send": is_organizer(request.user), "modules": modules, "section": "emails",
           "message_variables": templating.MESSAGE_VARIABLES, "learner_variables": templating.LEARNER_VARIABLES,
           "progress": scheduling.progress_of(email) if email and email.message_id else None,
           "preview_url": reverse("emails:preview", args=[cohort.slug]),
           "shown_subject": scheduling.shown_subject(email) if email and email.pk else "",
           "confirm": question, "languages": _languages(email, preview) if email and email.pk else []}
    ctx.update(_plan(email, question, inline=request.GET.get("plan") == "1"))
    return render(request, "emails/compose.html", ctx, status=status)


def _plan(email: CourseEmail | None, question: dict | None, inline: bool = False) -> dict:
    """The send plan, shown before scheduling: with the question "Send N copies now?"; and on
    the page of a draft (or cancelled) email that could be scheduled, loaded after the page
    (`plan_url`) unless asked for in it."""
    if email is None or email.trigger or scheduling.problems(email):
        return {}
    if question is None:
        if not email.pk or email.state not in (CourseEmail.DRAFT, CourseEmail.CANCELLED) or not email.audience:
            return {}
        if not inline:
            return {"plan_url": reverse("emails:plan", args=[email.cohort.slug, email.public_id])}
    found = planner.plan_for(email)
    return {"plan": found, "plan_duration": planner.duration_text(found.duration)}


@staff_required
@require_GET
def send_plan(request: HttpRequest, cohort: str, public_id: Any) -> HttpResponse:
    """The send plan of a draft, as the part of its page the page loads after itself."""
    email = _email(cohort_or_404(cohort, request.user), public_id)
    found = _plan(email, None, inline=True)
    if "plan" not in found:
        return HttpResponse(status=204)
    return render(request, "emails/_plan.html", found)


def _languages(email: CourseEmail, preview: dict | None = None) -> list[tuple[str, str, bool, int]]:
    """(code, name, has a variant, learners of the audience writing it without one) per translated language."""
    have = {v.language for v in email.variants.all()}
    per_language = preview.get("per_language") if preview else None
    missing = ({code: n for code, _name, n in scheduling.missing_variants(email, per_language=per_language)}
               if email.audience else {})
    return [(code, name, code in have, missing.get(code, 0)) for code, name in scheduling.variant_languages()]


def _resource_list(module: Any) -> str:
    lines = []
    for r in module.resources.all():
        extra = f" ({r.get_kind_display().lower()}" + (f", about {r.minutes} min)" if r.minutes else ")")
        offline = f" · [offline]({r.download_url})" if r.download_url else ""
        lines.append(f"- [{r.title}]({r.url}){extra}{offline}")
    return "\n".join(lines)


@staff_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest, cohort: str, public_id: Any = None) -> HttpResponse:
    c = cohort_or_404(cohort, request.user)
    email = _email(c, public_id) if public_id else CourseEmail(cohort=c, audience={"kind": audiences.ALL})
    if request.method == "GET":
        initial = initial_for(email) if email.pk else {}
        form = EmailForm(initial=initial, cohort=c)
        preview = _preview(email, "") if email.pk else None
        return _page(request, c, email, form, preview)
    if not is_organizer(request.user):
        raise PermissionDenied
    if email.pk and scheduling.is_locked(email):
        return HttpResponse("This email has been sent: it can no longer change.", status=409,
                            content_type="text/plain; charset=utf-8")
    form = EmailForm(request.POST, cohort=c)
    if not form.is_valid():
        return _page(request, c, email, form, status=400)
    was_scheduled = email.state == CourseEmail.SCHEDULED and not email.trigger
    _values(form, email)
    refusal = _welcome_refusal(email, was_scheduled)
    if refusal:
        form.add_error("welcome", refusal)
        return _page(request, c, email, form, status=400)
    action = request.POST.get("action", "save")
    if action == "preview":
        return _page(request, c, email, form, _preview(email, form.cleaned_data.get("preview_as", "")))
    view = None
    if not email.trigger and (action == "schedule" or email.state == CourseEmail.SCHEDULED):
        view = confirm.outlook(email)
        question = _question(request, email, view, action)
        if question is not None:
            return _page(request, c, email, form, _preview(email, ""), status=question.pop("status"),
                         question=question)
    return _save(request, email, form, action, view)


def _question(request: HttpRequest, email: CourseEmail, view: confirm.Outlook, action: str,
              url: str = "") -> dict | None:
    """"Send N copies now?" for a schedule that sends many copies at once, unless the posted
    confirmation is for exactly this; None when nothing needs asking."""
    if not view.needs_confirmation or scheduling.problems(email):
        return None
    reason = confirm.check(email, view, request.POST.get("confirm"))
    if reason is None:
        return None
    return {"question": view.question, "time_range": view.time_range, "note": view.note, "reason": reason,
            "copies": view.copies, "soon": view.soon, "token": confirm.token(email, view), "action": action,
            "url": url, "undo_minutes": _minutes(scheduling.undo_delay().total_seconds()),
            "status": 400 if reason else 200}


def _minutes(seconds: float) -> str:
    if seconds % 60:
        return f"{int(seconds)} seconds"
    return "1 minute" if seconds == 60 else f"{int(seconds // 60)} minutes"


def _welcome_refusal(email: CourseEmail, was_scheduled: bool) -> str:
    if not email.trigger:
        return ""
    if was_scheduled:
        return "This email is scheduled: cancel it first, or duplicate it, to make it the welcome email."
    other = email.cohort.emails.filter(trigger=CourseEmail.TRIGGER_WELCOME).exclude(
        state=CourseEmail.CANCELLED).exclude(pk=email.pk).first()
    if other is not None:
        return f"This cohort already has a welcome email: {other.subject!r}."
    return ""


def _save(request: HttpRequest, email: CourseEmail, form: EmailForm, action: str,
          view: confirm.Outlook | None = None) -> HttpResponse:
    creating = email.pk is None
    try:
        with transaction.atomic():
            if creating:
                email.created_by = staff_user(request)
            email.updated_at = timezone.now()
            if email.trigger and email.message_id:
                email.message = None  # the next learners get the new text in a new message
            if email.state != CourseEmail.SCHEDULED or email.trigger:
                email.save()
            if email.state == CourseEmail.SCHEDULED and not email.trigger:
                _save_scheduled(request, email, form.cleaned_data["schedule_spec"])
            elif action == "schedule":
                count = scheduling.schedule(email, request.user)
                messages.success(request, _scheduled(count) + _left_out(view))
            else:
                messages.success(request, _("Saved."))
    except scheduling.ScheduleError as exc:
        if creating:  # the transaction was rolled back: the email does not exist
            email.pk, email._state.adding = None, True
        return _refused(request, email, form, _("Nothing was saved. {reason}").format(reason=exc))
    found = scheduling.problems(email)
    if found:
        messages.error(request, _("Saved as a draft, but it cannot be scheduled until these are fixed: {problems}")
                   .format(problems=" ".join(found)))
    return _after_scheduling(email, view)


def _scheduled(count: int) -> str:
    return _("Scheduled for {count} recipients.").format(count=number_format(count, force_grouping=True))


def _left_out(view: confirm.Outlook | None) -> str:
    return f" {view.note}" if view is not None and view.note else ""


def _after_scheduling(email: CourseEmail, view: confirm.Outlook | None) -> HttpResponse:
    """Copies held for the undo window: to the sending page, where they can still be cancelled."""
    if view is not None and view.soon and email.state == CourseEmail.SCHEDULED:
        return redirect("emails:sending", public_id=email.public_id)
    return redirect(_edit_url(email))


CONTENT = ["subject", "body", "module_id", "audience", "phase"]


def _save_scheduled(request: HttpRequest, email: CourseEmail, spec: Any) -> None:
    """A scheduled email changed: move its copies if only the time changed, else queue it again."""
    original = CourseEmail.objects.select_related("cohort__course", "message").get(pk=email.pk)
    if all(getattr(original, f) == getattr(email, f) for f in CONTENT):
        moved = scheduling.reschedule(original, request.user, spec)
        messages.success(request, _("Rescheduled {count} copies.").format(
            count=number_format(moved, force_grouping=True)))
        return
    email.save()
    count = scheduling.replace(email, request.user)
    messages.success(request, _("Saved, and queued again for {count} recipients.").format(
        count=number_format(count, force_grouping=True)))


def _refused(request: HttpRequest, email: CourseEmail, form: EmailForm, reason: str) -> HttpResponse:
    preview = _preview(email, "")
    preview["problems"] = [reason, *preview["problems"]]
    return _page(request, email.cohort, email, form, preview, status=400)


@staff_required
@require_POST
def preview(request: HttpRequest, cohort: str) -> JsonResponse:
    """The live preview: the posted form rendered as a learner would receive it (nothing saved)."""
    c = cohort_or_404(cohort, request.user)
    form = EmailForm(request.POST, cohort=c)
    if not form.is_valid():
        errors = {k: [str(e) for e in v] for k, v in form.errors.items()}
        return JsonResponse({"errors": errors, "problems": [f"{k}: {' '.join(v)}" for k, v in errors.items()]},
                            status=400)
    email = CourseEmail(cohort=c)
    _values(form, email)
    # A learner's copy holds their personal links: only organizers preview as a given learner.
    as_learner = form.cleaned_data.get("preview_as", "") if is_organizer(request.user) else ""
    found = _preview(email, as_learner)
    found.pop("per_language")  # the page's own use of the count, not part of the answer
    return JsonResponse(found)


# ---------------------------------------------------------------- actions

def _action(request: HttpRequest, cohort: str, public_id: Any) -> CourseEmail:
    return _email(cohort_or_404(cohort, request.user), public_id)


def _done(request: HttpRequest, email: CourseEmail, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect(_edit_url(email))


def _refuse(request: HttpRequest, email: CourseEmail, exc: Exception) -> HttpResponse:
    form = EmailForm(initial=initial_for(email), cohort=email.cohort)
    preview = _preview(email, "")
    preview["problems"] = [str(exc), *preview["problems"]]
    return _page(request, email.cohort, email, form, preview, status=400)


@organizer_required
@require_POST
def schedule_email(request: HttpRequest, cohort: str, public_id: Any) -> HttpResponse:
    email = _action(request, cohort, public_id)
    view = confirm.outlook(email) if email.state in (CourseEmail.DRAFT, CourseEmail.CANCELLED) else None
    question = _question(request, email, view, "schedule", request.path) if view is not None else None
    if question is not None:
        form = EmailForm(initial=initial_for(email), cohort=email.cohort)
        return _page(request, email.cohort, email, form, _preview(email, ""), status=question.pop("status"),
                     question=question)
    try:
        count = scheduling.schedule(email, request.user)
    except scheduling.ScheduleError as exc:
        return _refuse(request, email, exc)
    messages.success(request, _scheduled(count) + _left_out(view))
    return _after_scheduling(email, view)


@organizer_required
@require_POST
def cancel_email(request: HttpRequest, cohort: str, public_id: Any) -> HttpResponse:
    email = _action(request, cohort, public_id)
    try:
        count = scheduling.cancel(email, request.user)
    except scheduling.ScheduleError as exc:
        return _refuse(request, email, exc)
    return _done(request, email, _("Cancelled: {count} copies will not be sent.").format(
        count=number_format(count, force_grouping=True)))


@organizer_required
@require_POST
def test_email(request: HttpRequest, cohort: str, public_id: Any) -> HttpResponse:
    email, user = _action(request, cohort, public_id), staff_user(request)
    if not user.email:
        return _refuse(request, email, ValueError("Your staff account has no email address to send a test to."))
    learner = None
    if request.POST.get("preview_as"):
        learner = email.cohort.learners.filter(email_key=request.POST["preview_as"].strip().lower()).first()
    try:
        scheduling.send_test(email, user, user.email, learner)
    except scheduling.ScheduleError as exc:
        return _refuse(request, email, exc)
    return _done(request, email, _("A test copy is on its way to {address}.").format(address=user.email))


@organizer_required
@require_POST
def duplicate_email(request: HttpRequest, cohort: str, public_id: Any) -> HttpResponse:
    email = _action(request, cohort, public_id)
    copy = scheduling.duplicate(email, request.user)
    messages.success(request, _("This is a draft copy: change it, then schedule it."))
    return redirect(_edit_url(copy))


@organizer_required
@require_POST
def copy_cohort(request: HttpRequest, cohort: str) -> HttpResponse:
    c = cohort_or_404(cohort, request.user)
    form = CopyForm(request.POST, cohort=c)
    if not form.is_valid():
        return HttpResponse("Choose a cohort of the same course to copy from.", status=400,
                            content_type="text/plain; charset=utf-8")
    source = cohort_or_404(form.cleaned_data["source"], request.user)
    copies = scheduling.copy_cohort(source, c, request.user)
    messages.success(request, _("Copied {count} emails from {cohort} as drafts, dates moved by {days} days.").format(
        count=len(copies), cohort=source.slug, days=(c.start_date - source.start_date).days))
    return redirect("emails:list", c.slug)


# ---------------------------------------------------------------- module page

@staff_required
@require_GET
def module_page(request: HttpRequest, cohort: str, position: int) -> HttpResponse:
    c = cohort_or_404(cohort, request.user)
    module = get_object_or_404(c.course.modules.prefetch_related("resources"), position=position)
    emails = c.emails.filter(module=module).select_related("cohort__course", "module", "message").order_by(
        "day_offset", "send_at", "pk")
    scheduling.refresh_states(emails)
    ctx = {"cohort": c, "module": module, "release": module.release_date(c), "section": "emails",
           "rows": [(e, scheduling.email_schedule(e), scheduling.shown_subject(e), scheduling.shown_state(e)[1])
                    for e in emails]}
    return render(request, "emails/module.html", ctx)
