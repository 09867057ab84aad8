"""Who is asking: the client's address and scheme, believing a reverse proxy only when trusted.

Behind nginx every request comes from the proxy's own address. The proxy names the client
in `X-Forwarded-For` and the scheme in `X-Forwarded-Proto`, but anyone can send those
headers: they are believed only when the peer (REMOTE_ADDR) is one of MMOOC_TRUSTED_PROXIES.

    client_address(request)  →  "203.0.113.7"

`X-Forwarded-For` is read from the right: each proxy appends the address it received the
request from, so the rightmost entry that is not itself a trusted proxy is the client (entries
further left were written by the client and prove nothing). Rate limits, the audit log and
the /metrics allow-list all ask here; the audit log reads current_address().
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Networks = Sequence[IPv4Network | IPv6Network | str]
_current: ContextVar[str] = ContextVar("mmooc_client_address", default="")


def parse_address(text: str) -> IPv4Address | IPv6Address | None:
    """An address as a peer or a proxy header gives it ("[::1]", "fe80::1%eth0", an IPv4 in IPv6),
    or None when it is none."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    try:
        address = ip_address(text.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: str, networks: Networks) -> bool:
    """Whether `address` is in one of `networks` ("unix" matches a peer on a Unix socket,
    which has no address)."""
    if "unix" in networks and not address:
        return True
    parsed = parse_address(address)
    return parsed is not None and any(not isinstance(n, str) and parsed in n for n in networks)


def _trusted(address: str) -> bool:
    proxies = settings.TRUSTED_PROXIES
    return bool(proxies) and in_networks(address, proxies)


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or from a trusted proxy the rightmost untrusted
    address of X-Forwarded-For."""
    cached = getattr(request, "_mmooc_client_address", None)
    if isinstance(cached, str):
        return cached
    address = str(request.META.get("REMOTE_ADDR", "") or "")
    if _trusted(address):
        header = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        hops = [h.strip() for h in header.split(",") if h.strip()]
        for hop in reversed(hops):
            parsed = parse_address(hop)
            if parsed is None:
                break  # a proxy we trust wrote nonsense: keep what we know
            address = str(parsed)
            if not _trusted(address):
                break
    request._mmooc_client_address = address  # type: ignore[attr-defined]
    return address


def current_address() -> str:
    """The address of the client whose request is being answered (set by
    TrustedProxyMiddleware); empty outside a request (a command, a worker)."""
    return _current.get()


def forwarded_secure(request: HttpRequest) -> bool:
    """Whether a trusted proxy says the client used HTTPS."""
    if not _trusted(str(request.META.get("REMOTE_ADDR", "") or "")):
        return False
    proto = str(request.META.get("HTTP_X_FORWARDED_PROTO", "")).split(",")[0].strip().lower()
    return proto == "https"


class TrustedProxyMiddleware:
    """Marks a request as HTTPS when a trusted proxy says so (SECURE_PROXY_SSL_HEADER would
    believe anyone), and makes the client's address current_address() while it is answered.
    First in MIDDLEWARE, so SSL redirects and secure cookies see it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if forwarded_secure(request):
            request.META["wsgi.url_scheme"] = "https"
        token = _current.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
