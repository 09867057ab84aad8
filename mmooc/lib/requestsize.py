"""How big a request body may be: 5 MiB for every page, more for provider inbound webhooks.

A provider's inbound webhook carries a whole group post (up to MMOOC_LIST_MAX_POST_MB) as
a form field or inside JSON, base64-encoded or escaped, often beside its text and its
attachments again; a post just over the limit must still be read, so its sender can be
told and the provider gets 2xx. Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) is set to
the larger size in settings, and this middleware, first in the list, answers 413 before
anything reads the body:

    REQUEST_MAX_BYTES          every path but the inbound webhooks
    INBOUND_WEBHOOK_MAX_BYTES  /anymail/<provider>/inbound/ (and Mailgun's inbound_mime/)

The size is the request's Content-Length; a WSGI server passes no body without one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger("mmooc.web")

API_PATH = "/api/"
INBOUND_PATH = re.compile(r"^/anymail/[a-z_]+/inbound(_mime)?/$")


def limit_for(path: str) -> int:
    return int(settings.INBOUND_WEBHOOK_MAX_BYTES if INBOUND_PATH.match(path) else settings.REQUEST_MAX_BYTES)


class RequestSizeLimit:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0  # Django reads no body then
        limit = limit_for(request.path_info)
        if size > limit:
            log.warning("refused a request body of %d bytes for %s: at most %d bytes", size, request.path[:200], limit)
            message = f"Request body too large: {size} bytes, at most {limit} bytes are accepted here."
            if request.path_info.startswith(API_PATH):  # the API refuses in its own JSON shape (docs/api.md)
                error = {"type": "invalid_request_error", "code": "body_too_large", "message": message, "param": None}
                return JsonResponse({"error": error}, status=413)
            return HttpResponse(message + "\n", status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
