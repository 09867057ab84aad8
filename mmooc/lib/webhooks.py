"""Provider webhooks answer 400, never 500, to a request they cannot read.

A provider retries, for days, every request that got a 5xx answer. A body it sent that
cannot be read (malformed JSON, a JSON list or string where an object belongs, a form
where JSON belongs, a missing field) will never be readable, so the answer is 400 with a
log line: the provider stops and the operator sees why. Only a failure that may pass
keeps its 5xx answer, so the provider posts again later: a database or network error, a
setting the provider's webhook needs and the site lacks, an exception that is a
`TemporaryFailure` (the relay cannot take a post now), and any failure of the site's own
receivers acting on an event that was read (they run through Django's signal dispatch). Refusals
Django already answers (a bad signature or secret, 404, 403) are left as they are.

    urlpatterns = [path("anymail/", include(guarded(anymail.urls)))]
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation
from django.db import DatabaseError
from django.dispatch import dispatcher
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern, URLResolver

log = logging.getLogger("mmooc.webhooks")


class TemporaryFailure(Exception):
    """A webhook cannot be handled now but may be later: the provider should post it again."""


# Failures that may pass, or that Django already answers as it should.
PASSED_ON: tuple[type[BaseException], ...] = (TemporaryFailure, DatabaseError, OSError, ImproperlyConfigured,
                                               SuspiciousOperation, PermissionDenied, Http404)


def refuse_malformed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view, answering 400 with a log line where it would have failed on what it was sent."""

    @functools.wraps(view)  # keeps csrf_exempt and the class-based view's attributes
    def guarded_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PASSED_ON:
            raise
        except Exception as exc:
            if _in_a_receiver(exc):
                raise
            log.warning("webhook %s: refused a request it cannot read (%s, %s bytes): %s: %s",
                        request.path, request.content_type or "no content type",
                        request.headers.get("Content-Length", "?"), type(exc).__name__, str(exc)[:200],
                        exc_info=True)
            return HttpResponseBadRequest("The request body cannot be read.\n", content_type="text/plain")

    return guarded_view


def _in_a_receiver(exc: BaseException) -> bool:
    """Whether the exception came from a signal receiver: the body was read, acting on it failed."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _DISPATCHER:
            return True
        tb = tb.tb_next
    return False


_DISPATCHER = dispatcher.__file__


def guarded(urlconf: ModuleType) -> tuple[list[URLPattern | URLResolver], str]:
    """An app's URL conf with every view wrapped in `refuse_malformed`, for include()."""
    return _guard_all(urlconf.urlpatterns), urlconf.app_name


def _guard_all(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    return [_guard(p) for p in patterns]


def _guard(entry: URLPattern | URLResolver) -> URLPattern | URLResolver:
    if isinstance(entry, URLResolver):
        return URLResolver(entry.pattern, _guard_all(list(entry.url_patterns)), entry.default_kwargs,
                           entry.app_name, entry.namespace)
    return URLPattern(entry.pattern, refuse_malformed(entry.callback), entry.default_args, entry.name)
