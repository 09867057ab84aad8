"""Return paths that name the delivery (VERP): `bounces+<token>@<MMOOC_LIST_DOMAIN>`.

The token is the delivery's id in hex and an HMAC of it keyed by SECRET_KEY, so a
bounce names its delivery and a forged address names nothing. Lower-case only: some
mail servers lower-case local parts. The same token serves the List-Unsubscribe mailto
address, `unsubscribe+<token>@<MMOOC_LIST_DOMAIN>`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from mmooc.mailer.models import Delivery

BOUNCE_PREFIX, UNSUBSCRIBE_PREFIX = "bounces", "unsubscribe"
_TOKEN = re.compile(r"^([0-9a-f]{1,16})-([0-9a-f]{16})$")
_TOKEN_ADDRESS = re.compile(r"^(bounces|unsubscribe)\+[0-9a-f]{1,16}-[0-9a-f]{16}$", re.IGNORECASE)


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"mmooc.mailer.verp:" + secret.encode()).digest()


def _mac(delivery_id: int) -> str:
    return _mac_for(settings.SECRET_KEY, delivery_id)


def _mac_for(secret: str, delivery_id: int) -> str:
    return hmac.new(_key(secret), str(delivery_id).encode(), hashlib.sha256).hexdigest()[:16]


def token(delivery_id: int) -> str:
    return _token_for(settings.SECRET_KEY, delivery_id)


@lru_cache(maxsize=4096)  # one copy needs its token several times (return path, ENVID, mailto)
def _token_for(secret: str, delivery_id: int) -> str:
    return f"{delivery_id:x}-{_mac_for(secret, delivery_id)}"


def id_from_token(value: str) -> int | None:
    m = _TOKEN.match(value.lower())
    if not m:
        return None
    delivery_id = int(m.group(1), 16)
    return delivery_id if hmac.compare_digest(m.group(2), _mac(delivery_id)) else None


def address_for(prefix: str, delivery_id: int) -> str:
    return f"{prefix}+{token(delivery_id)}@{settings.LIST_DOMAIN}"


def make_bounce_address(delivery: Delivery | int) -> str:
    return address_for(BOUNCE_PREFIX, delivery if isinstance(delivery, int) else delivery.pk)


def make_unsubscribe_address(delivery: Delivery | int) -> str:
    return address_for(UNSUBSCRIBE_PREFIX, delivery if isinstance(delivery, int) else delivery.pk)


def _id_from_address(address: str, prefix: str) -> int | None:
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != settings.LIST_DOMAIN or not local.lower().startswith(prefix + "+"):
        return None
    return id_from_token(local[len(prefix) + 1:])


def is_bounce_address(address: str) -> bool:
    """Shaped like our return path (the token is checked by delivery_from_bounce_address)."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    return domain.lower() == settings.LIST_DOMAIN and local.lower().startswith(BOUNCE_PREFIX + "+")


def token_prefix(address: str) -> str | None:
    """BOUNCE_PREFIX or UNSUBSCRIBE_PREFIX for an address shaped like ours, else None.

    `<prefix>+<token>@<MMOOC_LIST_DOMAIN>` with a token of the right shape; its signature is
    not checked here: a bounce whose token was damaged may still be matched by its report.
    """
    local, _, domain = address.strip().strip("<>").rpartition("@")
    m = _TOKEN_ADDRESS.match(local)
    return m.group(1).lower() if m and domain.lower() == settings.LIST_DOMAIN else None


def delivery_from_bounce_address(address: str) -> Delivery | None:
    """The delivery a bounce's envelope recipient names, or None if forged or unknown."""
    from mmooc.mailer.models import Delivery

    delivery_id = _id_from_address(address, BOUNCE_PREFIX)
    return Delivery.objects.filter(pk=delivery_id).first() if delivery_id else None


def delivery_from_unsubscribe_address(address: str) -> Delivery | None:
    from mmooc.mailer.models import Delivery

    delivery_id = _id_from_address(address, UNSUBSCRIBE_PREFIX)
    return Delivery.objects.filter(pk=delivery_id).first() if delivery_id else None
