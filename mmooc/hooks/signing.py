"""The signature of a webhook: HMAC-SHA256 of "timestamp.body" with the endpoint's secret.

Receivers check it as docs/outgoing-webhooks.md shows; the same function is used by the tests.
"""

from __future__ import annotations

import hashlib
import hmac

VERSION = "v1"
# Headers of every request.
EVENT_ID, EVENT_TYPE, TIMESTAMP, SIGNATURE = ("Mmooc-Event-Id", "Mmooc-Event-Type", "Mmooc-Timestamp",
                                              "Mmooc-Signature")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: float = 300) -> bool:
    """True when `header` holds a signature of this body and timestamp, made within `tolerance` s of now."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    expected = signature(secret, sent, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))
