"""The staff page of one course email's variant in a language: write, preview, remove.

A variant carries its own subject and body; everything else is the email's. Changing or
removing the variant of a scheduled email queues the email again (every language), as a
change of the email itself does; once a copy has left, nothing changes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mmooc.audit.log import record
from mmooc.courses.access import cohort_or_404
from mmooc.emails import scheduling, templating
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.lib.languages import speaking
from mmooc.lib.mailrender import markdown_to_html
from mmooc.lib.staff import is_organizer, staff_required

MAX_BODY = 100_000


class VariantForm(forms.Form):
    subject = forms.CharField(max_length=300)
    body = forms.CharField(max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "true"}))

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError(_("The subject must be on one line."))
        return subject


def preview(email: CourseEmail, variant: CourseEmailVariant | None, learner: Any = None) -> dict[str, Any]:
    """The email as a learner of the variant's language (or of the default) receives it."""
    shown = scheduling.as_variant(email, variant)
    found = scheduling.template_problems(shown) if variant is None else _problems(email, variant)
    result: dict[str, Any] = {"problems": found, "subject": "", "html": ""}
    if not found:
        with speaking(variant.language if variant is not None else ""):
            subject, body = scheduling.render_email(shown, for_learners=True)
        values = scheduling.sample_context(email, learner)
        result["subject"] = templating.personalize(subject, values)
        result["html"] = markdown_to_html(templating.personalize(body, values))
    return result


def _problems(email: CourseEmail, variant: CourseEmailVariant) -> list[str]:
    links = list((email.cohort.course.links or {}).keys())
    found = [f"Subject, {p}" for p in templating.validate(variant.subject, links=links)]
    found += [f"Body, {p}" for p in templating.validate(variant.body, links=links)]
    return found


def _language(language: str) -> tuple[str, str]:
    names = dict(scheduling.variant_languages())
    if language not in names:
        raise Http404("Not a translated language.")
    return language, names[language]


@staff_required
@require_http_methods(["GET", "POST"])
def variant_page(request: HttpRequest, cohort: str, public_id: Any, language: str) -> HttpResponse:
    c = cohort_or_404(cohort, request.user)
    email = get_object_or_404(CourseEmail.objects.select_related("cohort__course", "module", "message"),
                              cohort=c, public_id=public_id)
    code, name = _language(language)
    variant = email.variants.filter(language=code).first()
    if request.method == "GET":
        initial = ({"subject": variant.subject, "body": variant.body} if variant is not None
                   else {"subject": email.subject, "body": email.body})
        return _page(request, email, code, name, variant, VariantForm(initial=initial))
    if not is_organizer(request.user):
        raise PermissionDenied
    if scheduling.is_locked(email):
        return HttpResponse("This email has been sent: it can no longer change.", status=409,
                            content_type="text/plain; charset=utf-8")
    action = request.POST.get("action", "save")
    if action == "remove":
        return _remove(request, email, variant, name)
    form = VariantForm(request.POST)
    if not form.is_valid():
        return _page(request, email, code, name, variant, form, status=400)
    wanted = variant or CourseEmailVariant(email=email, language=code)
    wanted.subject, wanted.body = form.cleaned_data["subject"], form.cleaned_data["body"]
    found = _problems(email, wanted)
    if action == "preview" or found:
        return _page(request, email, code, name, variant, form, preview(email, wanted) if not found else
                     {"problems": found, "subject": "", "html": ""}, status=400 if found else 200)
    try:
        with transaction.atomic():
            wanted.updated_at = timezone.now()
            if email.trigger:
                wanted.message = None  # the next learners get the new text in a new message
            wanted.save()
            record(request.user, "email.variant-saved", email,
                   f"Saved the {name} variant of {scheduling.shown_subject(email)!r}", language=code)
            again = _queue_again(request, email)
    except scheduling.ScheduleError as exc:
        return _page(request, email, code, name, variant, form, {"problems": [str(exc)], "subject": "", "html": ""},
                     status=400)
    messages.success(request, _("Saved the {name} variant.").format(name=name) + again)
    return redirect(_edit_url(email))


def _remove(request: HttpRequest, email: CourseEmail, variant: CourseEmailVariant | None, name: str) -> HttpResponse:
    if variant is None:
        messages.info(request, _("This email has no {name} variant.").format(name=name))
        return redirect(_edit_url(email))
    try:
        with transaction.atomic():
            scheduling.remove_variant(variant)
            record(request.user, "email.variant-removed", email,
                   f"Removed the {name} variant of {scheduling.shown_subject(email)!r}", language=variant.language)
            again = _queue_again(request, email)
    except scheduling.ScheduleError as exc:
        messages.error(request, str(exc))
        return redirect(_edit_url(email))
    removed = _("Removed the {name} variant: those learners get the email as written.").format(name=name)
    messages.success(request, removed + again)
    return redirect(_edit_url(email))


def _queue_again(request: HttpRequest, email: CourseEmail) -> str:
    if email.state != CourseEmail.SCHEDULED or email.trigger:
        return ""
    count = scheduling.replace(email, request.user)
    return " " + _("Queued again for {count} recipients.").format(count=number_format(count, force_grouping=True))


def _edit_url(email: CourseEmail) -> str:
    return reverse("emails:edit", args=[email.cohort.slug, email.public_id])


def _page(request: HttpRequest, email: CourseEmail, code: str, name: str, variant: CourseEmailVariant | None,
          form: VariantForm, shown: dict | None = None, status: int = 200) -> HttpResponse:
    if shown is None:
        shown = preview(email, variant) if variant is not None else None
    learners = [n for c, _name, n in scheduling.missing_variants(email) if c == code]
    ctx = {"cohort": email.cohort, "email": email, "language": code, "language_name": name, "variant": variant,
           "form": form, "preview": shown, "locked": scheduling.is_locked(email), "section": "emails",
           "can_send": is_organizer(request.user), "learners_without": learners[0] if learners else 0,
           "shown_subject": scheduling.shown_subject(email), "edit_url": _edit_url(email)}
    return render(request, "emails/variant.html", ctx, status=status)
