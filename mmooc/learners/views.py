"""The learner's side: landing pages, signup (form, iframe and JSON API), confirmation."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from csp.decorators import csp_replace
from django.db.models import Count, Q
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mmooc.courses.models import Cohort, Course
from mmooc.learners import lifecycle, links, registration, validation
from mmooc.learners.decorators import signed_link
from mmooc.learners.forms import QUESTION_PREFIX, AddressForm, SignupForm
from mmooc.learners.models import Learner, WaitlistEntry
from mmooc.lib.clients import client_address
from mmooc.lib.languages import activate_for, preferred
from mmooc.lib.mailrender import markdown_to_html
from mmooc.lib.timezones import LEGACY_NAMES, available_zones

THANKS = gettext_lazy("Thank you! We have sent you an email: open the link in it to confirm your place. "
               "If nothing arrives within a few minutes, look in your spam folder.")
CLOSED = gettext_lazy("Signup for this cohort is closed.")


def _cohorts() -> Any:
    return Cohort.objects.published().select_related("course")


def _landing_cohort(course: Course) -> Cohort | None:
    """The cohort a course's landing page shows: open for signup, else the next, else the last."""
    cohorts = _cohorts().filter(course=course)
    now = timezone.now()
    return (cohorts.signup_open(now).order_by("-signup_opens").first()
            or cohorts.filter(state=Cohort.PUBLISHED, signup_opens__gt=now).order_by("signup_opens").first()
            or cohorts.order_by("-start_date").first())


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    cohort = _cohorts().signup_open().order_by("-signup_opens").first()
    if cohort is not None:
        return HttpResponseRedirect(reverse("learners:course", args=[cohort.course.slug]))
    courses = Course.objects.filter(cohorts__state=Cohort.PUBLISHED).distinct()
    ctx = {"courses": courses}
    return render(request, "learners/home.html", ctx)


@require_http_methods(["GET", "POST"])
def course_landing(request: HttpRequest, course: str) -> HttpResponse:
    course_obj = get_object_or_404(Course, slug=course)
    cohort = _landing_cohort(course_obj)
    if cohort is None:
        raise Http404("This course has no published cohort.")
    return _landing(request, cohort)


@require_http_methods(["GET", "POST"])
def cohort_landing(request: HttpRequest, course: str, cohort: str) -> HttpResponse:
    return _landing(request, _cohort_or_404(course, cohort))


@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})  # type: ignore[arg-type]  # any site may frame the form
@csrf_exempt
@require_http_methods(["GET", "POST"])
def embed(request: HttpRequest, course: str, cohort: str) -> HttpResponse:
    """The signup form alone, for an iframe on another site (no cookies needed)."""
    return _landing(request, _cohort_or_404(course, cohort), template="learners/embed.html")


def _cohort_or_404(course_slug: str, cohort_slug: str) -> Cohort:
    return get_object_or_404(_cohorts(), course__slug=course_slug, slug=cohort_slug)


def signup_counts(cohort: Cohort) -> dict[str, int]:
    counts = Learner.objects.filter(cohort=cohort).confirmed().aggregate(
        learners=Count("id"), countries=Count("country", distinct=True, filter=~Q(country="")))
    return counts


def _landing(request: HttpRequest, cohort: Cohort, template: str = "learners/landing.html") -> HttpResponse:
    course = cohort.course
    status, done, message, refusal = 200, False, "", None
    # The language the browser asks for first, among those a learner may choose.
    language = preferred(request.headers.get("Accept-Language", ""), validation.LANGUAGE_CODES)
    form = SignupForm(course, initial={"timezone": cohort.timezone, "language": language})
    if request.method == "POST":
        form = SignupForm(course, request.POST)
        status, done, message, refusal = _handle_signup(form, cohort, client_address(request), Learner.SIGNUP_FORM)
        status = 200 if status == 201 else status
    ctx = _landing_ctx(cohort)
    ctx.update(form=form, done=done, message=message, started=registration.form_started())
    response = render(request, template, ctx, status=status)
    if refusal is not None:
        response["Retry-After"] = str(max(1, int(refusal.wait)))
    return response


def _handle_signup(form: SignupForm, cohort: Cohort, client: str,
                   source: str) -> tuple[int, bool, str, registration.Refusal | None]:
    """(status, accepted, message, refusal) for a submitted form; stores nothing unless accepted.
    A bot (honeypot filled, posted too fast) is thanked like a person and nothing is stored."""
    if not cohort.signup_is_open():
        return 400, False, str(CLOSED), None
    if form.is_bot():
        return 201, True, str(THANKS), None
    if not form.is_valid():
        return 400, False, _("Please correct the marked fields."), None
    signup = form.signup()
    refusal = registration.signup_refusal(cohort, signup.email, client)
    if refusal is not None:
        return 429, False, refusal.message, refusal
    registration.register(cohort, signup, source)
    return 201, True, str(THANKS), None


@dataclass(frozen=True)
class ModuleSummary:
    """A module as the landing page lists it."""

    title: str
    release: date
    kinds: list[str]  # the kinds of its resources: reading, video, …
    minutes: int


def _module_summaries(cohort: Cohort) -> list[ModuleSummary]:
    return [ModuleSummary(m.title, m.release_date(cohort), sorted({r.get_kind_display() for r in m.resources.all()}),
                          sum(r.minutes or 0 for r in m.resources.all()))
            for m in cohort.course.modules.prefetch_related("resources")]


def _landing_ctx(cohort: Cohort) -> dict[str, Any]:
    course = cohort.course
    modules = _module_summaries(cohort)
    return {
        "course": course, "cohort": cohort, "modules": modules, "phase": cohort.phase(),
        "description": mark_safe(markdown_to_html(course.description)),  # sanitized by nh3
        "faq": [{"question": item.get("question", ""),
                 "answer": mark_safe(markdown_to_html(item.get("answer", "")))}  # sanitized
                for item in course.faq if isinstance(item, dict)],
        "counts": signup_counts(cohort), "zones": sorted(available_zones()),
        "legacy_zones": LEGACY_NAMES,
        "next_cohort": _cohorts().filter(course=course, signup_opens__gt=timezone.now())
        .order_by("signup_opens").first(),
        "waitlist_form": AddressForm(),
        "api_url": reverse("learners:api_signup", args=[cohort.slug]),
    }


# The JSON API -------------------------------------------------------------------------


def _cors_headers(request: HttpRequest, course: Course) -> dict[str, str]:
    origin = request.headers.get("Origin", "")
    allowed = {line.strip().rstrip("/") for line in course.cors_origins.splitlines() if line.strip()}
    if not origin or origin.rstrip("/") not in allowed:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400"}


def _api_payload(request: HttpRequest) -> tuple[QueryDict | dict, object]:
    """The posted fields and answers, from JSON or a form; ValueError on unreadable JSON."""
    if request.content_type == "application/json":
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data, data.get("answers")
    answers: object = None
    if "answers" in request.POST:
        answers = json.loads(request.POST["answers"] or "{}")
    return request.POST, answers


# Signup bursts hit one cohort: each process keeps it (and its course) for a few seconds.
_COHORT_CACHE: dict[str, tuple[float, Cohort]] = {}
COHORT_CACHE_SECONDS = 5.0


def _api_cohort(slug: str) -> Cohort:
    now = time.monotonic()
    hit = _COHORT_CACHE.get(slug)
    if hit is not None and now - hit[0] < COHORT_CACHE_SECONDS:
        return hit[1]
    cohort = get_object_or_404(_cohorts(), slug=slug)
    if len(_COHORT_CACHE) > 100:
        _COHORT_CACHE.clear()
    _COHORT_CACHE[slug] = (now, cohort)
    return cohort


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def api_signup(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = _api_cohort(cohort)
    headers = _cors_headers(request, cohort_obj.course)
    if request.method == "OPTIONS":
        return HttpResponse(status=204, headers=headers)
    try:
        data, answers = _api_payload(request)
    except ValueError:
        return JsonResponse({"errors": {"__all__": ["The request body is not valid JSON."]}},
                            status=400, headers=headers)
    status, body = _api_signup(cohort_obj, data, answers, client_address(request))
    if status == 429:
        headers = {**headers, "Retry-After": str(body["retry_after"])}
    return JsonResponse(body, status=status, headers=headers)


def _api_signup(cohort: Cohort, data: Any, answers: object, client: str) -> tuple[int, dict[str, Any]]:
    """Same checks and outcomes as the form, as (status, JSON body)."""
    if not cohort.signup_is_open():
        return 400, {"errors": {"__all__": [CLOSED]}}
    if data.get("website"):
        return 201, {"status": "pending-confirmation", "message": str(THANKS)}
    if answers is None and isinstance(data, QueryDict):
        answers = _form_answers(data)
    cleaned, errors = validation.check_signup(cohort.course.questions, data, answers)
    if errors:
        return 400, {"errors": errors}
    signup = registration.Signup(email=cleaned["email"], name=cleaned["name"], timezone=cleaned["timezone"],
                                 language=cleaned["language"], wants_group=cleaned["group"],
                                 answers=cleaned["answers"])
    refusal = registration.signup_refusal(cohort, signup.email, client)
    if refusal is not None:
        field_name = "email" if refusal.limit in ("address", "domain") else "__all__"
        return 429, {"errors": {field_name: [refusal.message]}, "limit": refusal.limit,
                     "retry_after": max(1, int(refusal.wait))}
    registration.register(cohort, signup, Learner.SIGNUP_API)
    return 201, {"status": "pending-confirmation", "message": str(THANKS)}


def _form_answers(data: QueryDict) -> dict[str, object]:
    """Answers posted as `q_<id>` form fields; a field given twice is a multiple choice."""
    answers: dict[str, object] = {}
    for key in data:
        if key.startswith(QUESTION_PREFIX):
            values = data.getlist(key)
            answers[key.removeprefix(QUESTION_PREFIX)] = values if len(values) > 1 else values[0]
    return answers


# Confirmation and the waitlist --------------------------------------------------------


@require_http_methods(["GET", "POST"])
@signed_link
@never_cache
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation link: a GET shows one button and changes nothing (mail scanners open
    links); its POST confirms. Someone who left is asked whether to join again instead."""
    learner = links.learner_from_token(token, links.CONFIRM)
    activate_for(request, learner.language)
    ctx = {"learner": learner, "cohort": learner.cohort, "course": learner.cohort.course,
           "page_url": links.learner_page_url(learner), "reason": lifecycle.rejoin_reason(learner)}
    if request.method == "GET":
        return render(request, "learners/confirm.html", ctx)
    try:
        lifecycle.confirm(learner, rejoin=request.POST.get("action") == "rejoin")
    except lifecycle.Refused as refused:  # left since this page was shown
        ctx["reason"] = str(refused)
        return render(request, "learners/confirm.html", ctx, status=409)
    learner.refresh_from_db()
    ctx.update(learner=learner, done=True, reason="")
    return render(request, "learners/confirm.html", ctx)


@require_POST
def waitlist(request: HttpRequest, course: str) -> HttpResponse:
    course_obj = get_object_or_404(Course, slug=course)
    form = AddressForm(request.POST)
    ctx = {"course": course_obj, "form": form}
    if not form.is_valid():
        return render(request, "learners/waitlist.html", ctx, status=400)
    address = form.cleaned_data["email"]
    if not form.data.get("website") and not registration.rate_limited(f"waitlist:{course_obj.id}", address):
        registration.join_waitlist(course_obj, address)
    ctx["done"] = True
    return render(request, "learners/waitlist.html", ctx)


@require_GET
@signed_link
@never_cache
def waitlist_confirm(request: HttpRequest, token: str) -> HttpResponse:
    value = links.read_token(token, links.WAITLIST)
    entry = WaitlistEntry.objects.select_related("course").filter(public_id=_uuid(value)).first()
    if entry is None:
        raise links.InvalidLink(links.INVALID)
    if entry.confirmed_at is None:
        WaitlistEntry.objects.filter(pk=entry.pk, confirmed_at__isnull=True).update(confirmed_at=timezone.now())
    ctx = {"course": entry.course, "confirmed": True}
    return render(request, "learners/waitlist.html", ctx)


def _uuid(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(hex=value)
    except ValueError:
        raise links.InvalidLink(links.INVALID) from None
