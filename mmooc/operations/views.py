from __future__ import annotations

import hmac
from ipaddress import IPv4Network, IPv6Network, ip_address

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mmooc.operations.metrics import exposition


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's text format, for the token and/or the addresses the environment names;
    404 when it names neither (off)."""
    token, allowed = settings.METRICS_TOKEN, settings.METRICS_ALLOW
    if not token and not allowed:
        raise Http404
    if allowed and not _allowed(request.META.get("REMOTE_ADDR", ""), allowed):
        return HttpResponse("This address may not read the metrics.\n", status=403, content_type="text/plain")
    if token and not _bearer(request, token):
        response = HttpResponse("A bearer token is needed.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def _allowed(address: str, networks: list[IPv4Network | IPv6Network | str]) -> bool:
    try:
        client = ip_address(address.split("%")[0])
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return any(not isinstance(network, str) and client in network for network in networks)


def _bearer(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
