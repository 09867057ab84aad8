"""Staff pages for outgoing webhooks: the endpoints, their secrets, their delivery logs.

Organizers only (a secret lets its holder forge events). Every change is in the audit log;
a secret is shown once, in the answer to the request that made it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from mmooc.audit.log import record
from mmooc.hooks import events
from mmooc.hooks.forms import EndpointForm, LogForm
from mmooc.hooks.models import Endpoint, HookDelivery, new_secret
from mmooc.lib import periodic
from mmooc.lib.paging import other_params
from mmooc.lib.staff import sitewide_required, staff_user

PAGE_SIZE = 50
TYPE_LABELS = dict(events.TYPES)


def endpoint_or_404(public_id: UUID) -> Endpoint:
    return get_object_or_404(Endpoint.objects.select_related("cohort"), public_id=public_id)


def _index_ctx(form: EndpointForm | None = None) -> dict[str, Any]:
    endpoints = Endpoint.objects.select_related("cohort").annotate(n=Count("deliveries"))
    pending = dict(HookDelivery.objects.filter(status=HookDelivery.PENDING).values_list("endpoint")
                   .annotate(n=Count("id")).order_by())
    rows = [(e, pending.get(e.pk, 0)) for e in endpoints]
    return {"rows": rows, "form": form or EndpointForm(initial={"active": True}), "type_labels": TYPE_LABELS}


@require_GET
@sitewide_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "hooks/index.html", _index_ctx())


def _settings(form: EndpointForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {"name": data["name"], "url": data["url"], "events": sorted(data["events"]), "cohort": data["cohort"],
            "active": data["active"]}


@require_POST
@sitewide_required
def add(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return render(request, "hooks/index.html", _index_ctx(form), status=400)
    with transaction.atomic():
        endpoint = Endpoint.objects.create(created_by=staff_user(request), **_settings(form))
        record(request.user, "webhook.created", endpoint, f"Webhook endpoint {endpoint.name} added",
               url=endpoint.url, events=endpoint.events, cohort=endpoint.cohort.slug if endpoint.cohort else None)
    return _show_secret(request, endpoint, made=True)


def _show_secret(request: HttpRequest, endpoint: Endpoint, made: bool) -> HttpResponse:
    response = render(request, "hooks/secret.html", {"endpoint": endpoint, "made": made})
    response["Cache-Control"] = "no-store"
    return response


def _detail_ctx(request: HttpRequest, endpoint: Endpoint, form: EndpointForm | None = None) -> dict[str, Any]:
    log_form = LogForm(request.GET)
    valid = log_form.is_valid()
    rows = endpoint.deliveries.select_related("event").order_by("-created_at", "-id")
    if valid and log_form.cleaned_data["status"]:
        rows = rows.filter(status=log_form.cleaned_data["status"])
    page = Paginator(rows, PAGE_SIZE).get_page(log_form.cleaned_data.get("page") if valid else 1)
    initial = {"name": endpoint.name, "url": endpoint.url, "events": endpoint.events,
               "cohort": endpoint.cohort.slug if endpoint.cohort else "", "active": endpoint.active}
    counts = dict(endpoint.deliveries.values_list("status").annotate(n=Count("id")).order_by())
    return {"endpoint": endpoint, "page": page, "query": other_params(request), "log_form": log_form,
            "form": form or EndpointForm(initial=initial), "type_labels": TYPE_LABELS,
            "counts": [(label, counts.get(code, 0)) for code, label in HookDelivery.STATUSES]}


@require_GET
@sitewide_required
def detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    endpoint = endpoint_or_404(public_id)
    return render(request, "hooks/detail.html", _detail_ctx(request, endpoint))


@require_POST
@sitewide_required
def edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    endpoint = endpoint_or_404(public_id)
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return render(request, "hooks/detail.html", _detail_ctx(request, endpoint, form), status=400)
    values = _settings(form)
    turned_on = values["active"] and not endpoint.active
    for name, value in values.items():
        setattr(endpoint, name, value)
    fields = [*values]
    if turned_on:  # a fresh start: it is judged on its attempts from now on
        endpoint.disabled_reason, endpoint.failing_since = "", None
        fields += ["disabled_reason", "failing_since"]
    with transaction.atomic():
        endpoint.save(update_fields=fields)
        record(request.user, "webhook.changed", endpoint, f"Webhook endpoint {endpoint.name} changed",
               url=endpoint.url, events=endpoint.events, active=endpoint.active,
               cohort=endpoint.cohort.slug if endpoint.cohort else None)
    if turned_on:
        transaction.on_commit(lambda: periodic.wake(events.JOB))
    messages.success(request, _("Saved."))
    return redirect("hooks:detail", public_id=endpoint.public_id)


@require_POST
@sitewide_required
def rotate(request: HttpRequest, public_id: UUID) -> HttpResponse:
    endpoint = endpoint_or_404(public_id)
    endpoint.secret = new_secret()
    with transaction.atomic():
        endpoint.save(update_fields=["secret"])
        record(request.user, "webhook.secret-rotated", endpoint, f"Secret of webhook endpoint {endpoint.name} replaced")
    return _show_secret(request, endpoint, made=False)


@require_POST
@sitewide_required
def delete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    endpoint = endpoint_or_404(public_id)
    with transaction.atomic():
        record(request.user, "webhook.deleted", endpoint, f"Webhook endpoint {endpoint.name} deleted", url=endpoint.url)
        endpoint.delete()
    messages.success(request, _("The endpoint {name} was deleted; nothing more is sent to it.").format(
        name=endpoint.name))
    return redirect("hooks:index")


@require_POST
@sitewide_required
def redeliver(request: HttpRequest, public_id: UUID, delivery_id: int) -> HttpResponse:
    endpoint = endpoint_or_404(public_id)
    delivery = get_object_or_404(HookDelivery.objects.select_related("event"), pk=delivery_id, endpoint=endpoint)
    with transaction.atomic():
        HookDelivery.objects.filter(pk=delivery.pk).update(status=HookDelivery.PENDING, attempts=0,
                                                           next_attempt_at=timezone.now())
        record(request.user, "webhook.redelivered", endpoint,
               f"Event {delivery.event.public_id} sent again to {endpoint.name}", event=delivery.event.public_id)
    transaction.on_commit(lambda: periodic.wake(events.JOB))
    note = "" if endpoint.active else " " + _("The endpoint is switched off: it is sent once you switch it on.")
    messages.success(request, _("Event {event} is queued to be sent again.").format(event=delivery.event.public_id)
                     + note)
    return redirect("hooks:detail", public_id=endpoint.public_id)
