"""/api/v1/: the operations (each POST honouring Idempotency-Key), openapi.json and the docs page;
the token pages of the dashboard are `dashboard_urls`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from mmooc.api import views
from mmooc.api.api import urls as operation_urls
from mmooc.api.errors import ApiError, response
from mmooc.api.idempotency import idempotent


def json_refusals(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A method the path does not have is refused in the API's JSON shape too."""
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        resp = view(request, *args, **kwargs)
        if resp.status_code == 405 and not resp.get("Content-Type", "").startswith("application/json"):
            refusal = response(ApiError(405, "method_not_allowed", f"{request.method} is not allowed here."))
            refusal["Allow"] = resp.get("Allow", "")
            return refusal
        return resp

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def api_urls() -> list[Any]:
    wrapped = [URLPattern(p.pattern, json_refusals(idempotent(p.callback)), p.default_args, p.name)
               if isinstance(p, URLPattern) else p for p in operation_urls()]
    return [path("docs", views.docs, name="docs"), *wrapped]


dashboard_urls = ([
    path("api/tokens/", views.token_list, name="tokens"),
    path("api/tokens/<int:token_id>/revoke", views.token_revoke, name="token_revoke"),
], "api_tokens")
