"""Every refusal of the API is one JSON shape with a stable code:

    {"error": {"type": "invalid_request_error", "code": "learner_not_found",
               "message": "No learner with this id in this cohort.", "param": "learner_id"}}

`type` is the family (what a client does about it), `code` the precise reason (what a client
branches on; codes never change meaning), `message` is for people, `param` names the input
at fault or is null.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

INVALID, AUTHENTICATION, PERMISSION, NOT_FOUND, CONFLICT, RATE_LIMIT, IDEMPOTENCY, API = (
    "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
    "conflict_error", "rate_limit_error", "idempotency_error", "api_error")

TYPE_FOR_STATUS = {400: INVALID, 401: AUTHENTICATION, 403: PERMISSION, 404: NOT_FOUND, 405: INVALID,
                   409: CONFLICT, 413: INVALID, 422: INVALID, 429: RATE_LIMIT}


class ApiError(Exception):
    """A refusal: the status, a stable code, a message for people and the parameter at fault."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None,
                 headers: dict[str, str] | None = None, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = headers or {}
        self.type = error_type or TYPE_FOR_STATUS.get(status, API)

    def body(self) -> dict[str, Any]:
        return {"error": {"type": self.type, "code": self.code, "message": self.message, "param": self.param}}


def not_found(what: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"{what}_not_found", f"No such {what.replace('_', ' ')}.", param)


def invalid(code: str, message: str, param: str | None = None) -> ApiError:
    return ApiError(400, code, message, param)


def conflict(code: str, message: str, param: str | None = None) -> ApiError:
    return ApiError(409, code, message, param)


def response(exc: ApiError) -> HttpResponse:
    resp = JsonResponse(exc.body(), status=exc.status)
    for name, value in exc.headers.items():
        resp[name] = value
    return resp


def refuse(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return response(exc)
