"""The API's pages: tokens on the dashboard (organizers), and the readable description at /api/v1/docs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mmooc.api.api import api
from mmooc.api.models import ApiToken
from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.lib.staff import sitewide_required, staff_user


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text=gettext_lazy("What uses it, e.g. “CRM sync”."))
    scope = forms.ChoiceField(choices=ApiToken.SCOPES, initial=ApiToken.READ)
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.select_related("course").order_by("-start_date"),
                                    required=False, empty_label=gettext_lazy("Every cohort"))

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the token a name."))
        return name


def _page(request: HttpRequest, form: TokenForm, status: int = 200, secret: str = "") -> HttpResponse:
    ctx = {"form": form, "secret": secret,
           "tokens": ApiToken.objects.select_related("cohort", "created_by").order_by("revoked_at", "-created_at")}
    return render(request, "api/tokens.html", ctx, status=status)


@never_cache
@sitewide_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    with transaction.atomic():
        token, secret = ApiToken.issue(name=data["name"], scope=data["scope"], cohort=data["cohort"],
                                       created_by=staff_user(request))
        record(request.user, "api.token_created", token, f"Created API token “{token.name}”",
               scope=token.scope, cohort=token.cohort.slug if token.cohort else "all")
    return _page(request, TokenForm(), secret=secret)


@sitewide_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id)
    with transaction.atomic():
        if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
            record(request.user, "api.token_revoked", token, f"Revoked API token “{token.name}”")
    return redirect("api_tokens:tokens")


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for route, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [{"name": p["name"], "where": p["in"], "required": p.get("required", False),
                       "description": p.get("description", "")} for p in op.get("parameters", [])]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            rows.append({"method": method.upper(), "path": route, "summary": op.get("summary", ""),
                         "description": op.get("description", ""), "tag": (op.get("tags") or [""])[0],
                         "params": params, "body": body.get("$ref", "").rsplit("/", 1)[-1],
                         "responses": sorted(op.get("responses", {}))})
    return rows


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """Every operation, from the same OpenAPI description the API serves: no script, nothing fetched."""
    schema = api.get_openapi_schema(path_prefix=request.path.removesuffix("docs").rstrip("/"))
    ctx = {"info": schema["info"], "operations": _operations(schema),
           "schemas": sorted(schema.get("components", {}).get("schemas", {}).items())}
    return render(request, "api/docs.html", ctx)
