"""The JSON API under /api/v1/: one NinjaAPI, its refusals in one shape (errors.py)."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from mmooc.api.auth import TokenAuth
from mmooc.api.errors import ApiError, response


class StrictParser(Parser):
    """A body must be a JSON object; anything else is refused before a view runs."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
        return data


DESCRIPTION = """The staff API of Mechanical MOOC: courses, cohorts, learners, course emails and the
suppression list. Every request carries an API token (`Authorization: Bearer mmooc_…`), made by an
organizer on the dashboard. Every refusal is `{"error": {"type", "code", "message", "param"}}`;
POST requests may carry an `Idempotency-Key` header. See docs/api.md."""

api = NinjaAPI(title="Mechanical MOOC API", version="1", description=DESCRIPTION, urls_namespace="api",
               auth=TokenAuth(), parser=StrictParser(), docs_url=None)


def _param(loc: list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    return ".".join(parts) or None


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return response(exc)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    param = _param(list(first.get("loc", [])))
    message = "; ".join(f"{_param(list(e.get('loc', []))) or 'body'}: {e.get('msg', 'invalid')}"
                        for e in exc.errors[:10])
    return response(ApiError(400, "invalid_parameter", message or "The request is not valid.", param))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return response(ApiError(401, "token_invalid", "This API token is not valid."))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return response(ApiError(404, "not_found", "No such object."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ApiError):  # the parser's refusal, wrapped by ninja
        return response(exc.__cause__)
    code = {405: "method_not_allowed", 429: "rate_limited"}.get(exc.status_code, "invalid_request")
    return response(ApiError(exc.status_code, code, str(exc)))


def urls() -> list[Any]:
    from mmooc.api import endpoints  # noqa: F401  (the operations register themselves on `api`)

    return api.urls[0]


