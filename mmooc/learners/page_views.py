"""Pages reached by a learner's signed links: their page, preferences, leaving, unsubscribing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from mmooc.learners import lifecycle, links, mail, registration, sections
from mmooc.learners.decorators import signed_link
from mmooc.learners.forms import AddressForm, PreferencesForm, UnsubscribeForm
from mmooc.learners.models import Learner, Unsubscribe, email_key
from mmooc.learners.validation import LANGUAGES
from mmooc.lib import clock
from mmooc.lib.languages import activate_for, ui_language
from mmooc.lib.timezones import LEGACY_NAMES, available_zones

SAME_ANSWER = gettext_lazy("If this address is signed up for a course here, a message with a link to its "
                    "personal page is on its way.")


def schedule(learner: Learner, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each module with its course day: the same calendar date everywhere, begun at the
    learner's own midnight; the emails already sent about it, when another app knows them."""
    now = now or timezone.now()
    cohort = learner.cohort
    sent = sections.week_emails(cohort)
    # The web copies of the week's emails in the learner's language, whatever the browser's.
    lang = f"?lang={reader_language(learner)}" if reader_language(learner) else ""
    rows = []
    for module in cohort.course.modules.prefetch_related("resources"):
        release = module.release_date(cohort)
        rows.append({"module": module, "release": release,
                     "released": clock.has_begun(release, learner.timezone, now),
                     "resources": list(module.resources.all()),
                     "email_url": sent[module.pk] + lang if module.pk in sent else ""})
    current = [row for row in rows if row["released"]]
    if current:
        current[-1]["current"] = True
    return rows


def reader_language(learner: Learner) -> str:
    """The language of the learner's links to public pages (?lang=): "" for the default one."""
    language = ui_language(learner.language)
    return "" if language == settings.LANGUAGE_CODE else language


@require_http_methods(["GET", "POST"])
@signed_link
@never_cache
def page(request: HttpRequest, token: str) -> HttpResponse:
    learner = links.learner_from_token(token, links.PAGE)
    activate_for(request, learner.language)
    status = 200
    initial = {"name": learner.name, "timezone": learner.timezone, "language": learner.language,
               "group": "group" if learner.wants_group else "solo"}
    form = PreferencesForm(initial=initial)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                _save_preferences(learner, form.cleaned_data)
            except lifecycle.Refused as refused:
                form.add_error("group", str(refused))
                learner.refresh_from_db()
            else:
                activate_for(request, learner.language)
                messages.success(request, _("Your preferences are saved."))
                return HttpResponseRedirect(request.path)
        status = 400
    cohort, now = learner.cohort, timezone.now()
    ctx = {"learner": learner, "cohort": cohort, "course": cohort.course,
           "stage": clock.stage(cohort.start_date, cohort.end_date, learner.timezone, now),
           "schedule": schedule(learner, now), "group": sections.group_section(learner), "form": form, "token": token,
           "zones": sorted(available_zones()), "legacy_zones": LEGACY_NAMES, "languages": LANGUAGES,
           "history": lifecycle.history(learner), "aliases": lifecycle.aliases(learner),
           "sections": sections.page_sections(learner), "reader_language": reader_language(learner)}
    return render(request, "learners/page.html", ctx, status=status)


def _save_preferences(learner: Learner, cleaned: dict) -> None:
    """All or nothing: a group choice the learner's state refuses saves nothing else either."""
    with transaction.atomic():
        learner.name = cleaned["name"]
        learner.save(update_fields=["name"])
        lifecycle.change_language(learner, cleaned["language"], via=lifecycle.PAGE)
        # Course emails queued in the learner's local time move to the new clock.
        lifecycle.change_timezone(learner, cleaned["timezone"], via=lifecycle.PAGE)
        # On my own ends the group membership now; asking for a group may place them now.
        lifecycle.choose_group(learner, cleaned["group"], via=lifecycle.PAGE)


@require_POST
@signed_link
@never_cache
def remove_alias(request: HttpRequest, token: str, alias_id: uuid.UUID) -> HttpResponse:
    """The page's "Remove" button by one of the learner's other addresses."""
    learner = links.learner_from_token(token, links.PAGE)
    if lifecycle.remove_alias(learner, alias_id):
        activate_for(request, learner.language)
        messages.success(request, _("The address is removed: messages from it no longer reach your group."))
    return HttpResponseRedirect(reverse("learners:page", args=[token]))


@require_http_methods(["GET", "POST"])
@signed_link
@never_cache
def leave(request: HttpRequest, token: str) -> HttpResponse:
    """Leave the cohort: a GET shows the button (link scanners change nothing), the POST leaves."""
    learner = links.learner_from_token(token, links.PAGE)
    activate_for(request, learner.language)
    ctx = {"learner": learner, "course": learner.cohort.course, "token": token}
    ctx["stale"] = links.token_age(token) > links.FRESH_FOR
    if request.method == "GET":
        return render(request, "learners/leave.html", ctx)
    if ctx["stale"]:
        return _fresh_link_sent(request, learner, "learners/leave.html", ctx)
    lifecycle.leave(learner)
    ctx["left"] = True
    return render(request, "learners/goodbye.html", ctx)


@require_http_methods(["GET", "POST"])
@signed_link
@never_cache
def rejoin(request: HttpRequest, token: str) -> HttpResponse:
    """Join the cohort again after leaving it (or start its course emails again): GET asks."""
    learner = links.learner_from_token(token, links.PAGE)
    activate_for(request, learner.language)
    ctx = {"learner": learner, "cohort": learner.cohort, "course": learner.cohort.course,
           "page_url": links.learner_page_url(learner), "reason": lifecycle.rejoin_reason(learner)}
    if request.method == "GET" or not ctx["reason"]:
        return render(request, "learners/confirm.html", ctx)
    lifecycle.confirm(learner, rejoin=True)
    learner.refresh_from_db()
    ctx.update(learner=learner, done=True, reason="")
    return render(request, "learners/confirm.html", ctx)


@require_http_methods(["GET", "POST"])
@signed_link
@never_cache
def erase(request: HttpRequest, token: str) -> HttpResponse:
    """Delete my data: asks first (GET), erases on the confirming POST."""
    learner = links.learner_from_token(token, links.PAGE)
    activate_for(request, learner.language)
    ctx = {"learner": learner, "course": learner.cohort.course, "token": token}
    ctx["stale"] = links.token_age(token) > links.FRESH_FOR
    if request.method == "GET":
        return render(request, "learners/erase.html", ctx)
    if ctx["stale"]:
        return _fresh_link_sent(request, learner, "learners/erase.html", ctx)
    if request.POST.get("confirm") != "yes":
        ctx["error"] = _("Tick the box to confirm that you want your data deleted.")
        return render(request, "learners/erase.html", ctx, status=400)
    lifecycle.erase(learner)
    ctx["erased"] = True
    return render(request, "learners/goodbye.html", ctx)


def _fresh_link_sent(request: HttpRequest, learner: Learner, template: str, ctx: dict[str, Any]) -> HttpResponse:
    """An old link asked to leave or delete: nothing changes; a fresh page link goes to the
    learner's own address (at most as often as "send me my link" allows)."""
    if not registration.rate_limited("link", learner.email):
        with transaction.atomic():
            mail.send_page_link(learner)
    ctx["fresh_sent"] = True
    return render(request, template, ctx, status=403)


@require_http_methods(["GET", "POST"])
def send_link(request: HttpRequest) -> HttpResponse:
    """'Send me my link': always the same answer, whether or not the address is known."""
    form = AddressForm(request.POST or None)
    ctx: dict[str, Any] = {"form": form}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "learners/send_link.html", ctx, status=400)
        address = form.cleaned_data["email"]
        if not form.data.get("website") and not registration.rate_limited("link", address):
            _send_links(address)
        ctx["done"] = SAME_ANSWER
    return render(request, "learners/send_link.html", ctx)


def _send_links(address: str) -> None:
    learners = (Learner.objects.filter(email_key=email_key(address))
                .exclude(state__in=[Learner.ERASED]).select_related("cohort__course"))
    with transaction.atomic():
        for learner in learners:
            mail.send_page_link(learner)


# Unsubscribe (RFC 8058) ---------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
@signed_link
@never_cache
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the choices; a one-click POST acts on the link's own scope at once."""
    learner, scope = links.unsubscribe_target(token)
    activate_for(request, learner.language)
    ctx: dict[str, Any] = {"learner": learner, "course": learner.cohort.course, "scope": scope,
                           "form": UnsubscribeForm(initial={"choice": scope})}
    if request.method == "GET":
        return render(request, "learners/unsubscribe.html", ctx)
    if request.POST.get("List-Unsubscribe") == "One-Click":
        lifecycle.unsubscribe(learner, scope, Unsubscribe.ONE_CLICK)
        return HttpResponse(_("You are unsubscribed.") + "\n", content_type="text/plain; charset=utf-8")
    form = UnsubscribeForm(request.POST)
    ctx["form"] = form
    if not form.is_valid():
        return render(request, "learners/unsubscribe.html", ctx, status=400)
    ctx["done"] = form.cleaned_data["choice"]
    ctx["page_url"] = links.learner_page_url(learner)
    lifecycle.unsubscribe(learner, ctx["done"], Unsubscribe.PAGE)
    return render(request, "learners/unsubscribe.html", ctx)
