"""Which addresses may receive webhooks: http(s) to public hosts, nothing else.

An address is checked when an organizer enters it and again before every attempt, on the
addresses its host resolves to then, and the connection goes to the address that was checked
(a host that changes its DNS answer between the check and the connection gains nothing).
Private, loopback, link-local and other non-public addresses are refused unless
MMOOC_WEBHOOKS_ALLOW_PRIVATE is on (a receiver on the same machine or network, and the tests).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from mmooc.hooks.exceptions import TargetRefused

MAX_URL = 2000
SCHEMES = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the checked IP address connected to


def parse(url: str) -> SplitResult:
    """The parts of a well-formed http(s) URL; TargetRefused says what is wrong with it."""
    if len(url) > MAX_URL:
        raise TargetRefused(f"The address is longer than {MAX_URL} characters.")
    if not url or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise TargetRefused("The address is empty or has spaces or control characters in it.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise TargetRefused("Only http:// and https:// addresses can receive webhooks.")
    if not parts.hostname:
        raise TargetRefused("The address has no host name.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("Put no user name or password in the address: the signature shows who sent the event.")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number from 0 to 65535)
    except ValueError:
        raise TargetRefused("The address's port is not a number from 1 to 65535.") from None
    if parts.port == 0:
        raise TargetRefused("The address's port is not a number from 1 to 65535.")
    return parts


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"The host {host} could not be found.") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check(url: str, *, allow_private: bool) -> Target:
    """The target to connect to, or TargetRefused with a reason an organizer understands."""
    parts = parse(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or SCHEMES[scheme]
    addresses = resolve(host, port)
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise TargetRefused(f"{host} is a private, local or reserved address ({refused[0]}); "
                                "webhooks go only to hosts on the public internet.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, scheme, host, port, path, addresses[0])
