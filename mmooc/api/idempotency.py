"""Idempotency-Key on POST: the first response for a key and token is kept a day and replayed.

The same key with another method, path or body is refused (422); a key whose first request
is still running answers 409. Refusals that say nothing about the request (401, 429, 5xx)
are not kept, so the client may retry with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from mmooc.api.auth import token_from_header
from mmooc.api.errors import ApiError, response
from mmooc.api.models import IdempotentResponse

KEPT = timedelta(hours=24)
MAX_KEY = 255
NOT_KEPT = frozenset({401, 429})


def fingerprint(request: HttpRequest) -> str:
    seen = (request.method or "").encode() + b" " + request.path.encode() + b"\n" + request.body
    return hashlib.sha256(seen).hexdigest()


def idempotent(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None:
            return view(request, *args, **kwargs)
        token = token_from_header(request.headers.get("Authorization", ""))
        if token is None or token.revoked_at is not None:
            return view(request, *args, **kwargs)  # refused there, with the usual error
        if not key.strip() or len(key) > MAX_KEY:
            return response(ApiError(400, "invalid_idempotency_key",
                                     f"An Idempotency-Key is 1 to {MAX_KEY} characters.", "Idempotency-Key"))
        return _once(view, request, token, key, args, kwargs)

    wrapper.__name__ = getattr(view, "__name__", "view")
    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def _once(view: Callable[..., HttpResponse], request: HttpRequest, token: Any, key: str,
          args: Any, kwargs: Any) -> HttpResponse:
    mark = fingerprint(request)
    IdempotentResponse.objects.filter(token=token, key=key, created_at__lt=timezone.now() - KEPT).delete()
    try:
        with transaction.atomic():
            row = IdempotentResponse.objects.create(token=token, key=key, fingerprint=mark)
    except IntegrityError:
        return _replay(token, key, mark)
    try:
        resp = view(request, *args, **kwargs)
    except BaseException:
        row.delete()
        raise
    if resp.status_code in NOT_KEPT or resp.status_code >= 500:
        row.delete()
    else:
        row.status, row.body = resp.status_code, resp.content.decode()
        row.save(update_fields=["status", "body"])
    return resp


def _replay(token: Any, key: str, mark: str) -> HttpResponse:
    row = IdempotentResponse.objects.filter(token=token, key=key).first()
    if row is None:
        return response(ApiError(409, "idempotency_in_progress", "A request with this Idempotency-Key just "
                                 "ended; retry.", "Idempotency-Key"))
    if row.fingerprint != mark:
        return response(ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used with another "
                                 "request; use a new key for a new request.", "Idempotency-Key",
                                 error_type="idempotency_error"))
    if row.status is None:
        return response(ApiError(409, "idempotency_in_progress", "The first request with this Idempotency-Key "
                                 "is still running; retry later.", "Idempotency-Key"))
    resp = HttpResponse(row.body, status=row.status, content_type="application/json")
    resp["Idempotent-Replayed"] = "true"
    return resp


def prune() -> int:
    deleted, _ = IdempotentResponse.objects.filter(created_at__lt=timezone.now() - KEPT).delete()
    return deleted


def forget_erased(sender: Any, learner: Any, name: str = "", address: str = "", **kwargs: Any) -> None:
    """An erased learner's address may be in a kept answer (the learner as created, a refusal
    naming the address): such answers are forgotten with the learner, in the same transaction."""
    found = Q(body__contains=str(learner.public_id))
    if address:
        found |= Q(body__contains=address)
    IdempotentResponse.objects.filter(found).delete()
