"""Who is calling: `Authorization: Bearer mmooc_…`, looked up by its hash, rate-limited per token."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from mmooc.api.errors import ApiError
from mmooc.api.models import ApiToken, digest
from mmooc.courses.models import Cohort
from mmooc.operations import ratelimits

READING = frozenset({"GET", "HEAD", "OPTIONS"})
RATE_WINDOW = 60.0  # seconds; MMOOC_API_RATE requests per token in each
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


def token_from_header(value: str) -> ApiToken | None:
    scheme, _, text = value.partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        return None
    return ApiToken.objects.select_related("cohort", "created_by").filter(digest=digest(text.strip())).first()


class TokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if not header:
            raise ApiError(401, "token_missing", "Send an API token: Authorization: Bearer <token>.")
        token = token_from_header(header)
        if token is None:
            raise ApiError(401, "token_invalid", "This API token is not valid.")
        return self.admit(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover - __call__ decides
        return None

    def admit(self, request: HttpRequest, token: ApiToken) -> ApiToken:
        if token.revoked_at is not None:
            raise ApiError(401, "token_revoked", "This API token was revoked.")
        count, wait = ratelimits.hit(f"api:token:{token.pk}", RATE_WINDOW)
        if count > settings.API_RATE:
            raise ApiError(429, "rate_limited", f"Too many requests: at most {settings.API_RATE} a minute "
                           "per token. Try again later.", headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if request.method not in READING and not token.writes:
            raise ApiError(403, "token_read_only", "This API token may only read.")
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        request.api_token = token  # type: ignore[attr-defined]
        return token


def token_of(request: HttpRequest) -> ApiToken:
    return request.api_token  # type: ignore[attr-defined]


def actor(request: HttpRequest) -> Any:
    """Who a write is recorded as: the organizer who created the token."""
    return token_of(request).created_by


def cohort_or_404(request: HttpRequest, slug: str) -> Cohort:
    """The cohort, if the token may see it: a token for one cohort finds no other."""
    token = token_of(request)
    cohort = Cohort.objects.select_related("course").filter(slug=slug).first()
    if cohort is None or (token.cohort_id is not None and token.cohort_id != cohort.pk):
        raise ApiError(404, "cohort_not_found", f"No cohort {slug!r}.", "cohort")
    return cohort


def require_all_cohorts(request: HttpRequest) -> None:
    """Site-wide data (the suppression list) is for tokens of every cohort only."""
    if token_of(request).cohort_id is not None:
        raise ApiError(403, "token_cohort_scoped", "This API token is for one cohort; this needs a token "
                       "for every cohort.")
