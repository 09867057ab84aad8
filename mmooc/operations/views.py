from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mmooc.lib.clients import client_address, in_networks
from mmooc.operations.metrics import exposition


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's text format, for the token and/or the addresses the environment names;
    404 when it names neither (off)."""
    token, allowed = settings.METRICS_TOKEN, settings.METRICS_ALLOW
    if not token and not allowed:
        raise Http404
    if allowed and not in_networks(client_address(request), allowed):
        return HttpResponse("This address may not read the metrics.\n", status=403, content_type="text/plain")
    if token and not _bearer(request, token):
        response = HttpResponse("A bearer token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def _bearer(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
