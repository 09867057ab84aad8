"""Sending the queued deliveries: the periodic job `hooks.deliver`.

Each due delivery is claimed with a conditional update (its next attempt moved past the
attempt's end, so a crash mid-attempt leaves it due again, never lost), posted once with a
timeout, never following a redirect, and recorded: delivered, due again after a backoff
that doubles, or given up after MMOOC_WEBHOOKS_MAX_ATTEMPTS. An endpoint whose every attempt
has failed for MMOOC_WEBHOOKS_DISABLE_AFTER_HOURS is switched off and the organizers are told.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from mmooc.audit.log import record
from mmooc.hooks import signing, targets
from mmooc.hooks.exceptions import TargetRefused
from mmooc.hooks.models import Endpoint, HookDelivery, HookEvent
from mmooc.lib.staff import ORGANIZER

log = logging.getLogger("mmooc.hooks")

BATCH = 100  # deliveries looked at per query
RUN_BUDGET = 30.0  # seconds one run of the job may take before leaving the rest to the next
BACKOFF = 60  # seconds before the second attempt; doubled for each one after
BACKOFF_MAX = 6 * 3600
RESPONSE_READ = 4096  # bytes of an answer read (and ignored)
USER_AGENT = "Mechanical-MOOC-Webhooks/1"
KEEP_DAYS = 30  # events whose deliveries have all finished are forgotten after this


@dataclass(frozen=True)
class Answer:
    ok: bool
    code: int | None = None
    error: str = ""


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a delivery is tried again."""
    return timedelta(seconds=min(BACKOFF * 2 ** (attempts - 1), BACKOFF_MAX))


def body_of(event: HookEvent) -> bytes:
    return json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False).encode()


def headers_for(event: HookEvent, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
            signing.EVENT_ID: event.public_id, signing.EVENT_TYPE: event.type,
            signing.TIMESTAMP: str(timestamp), signing.SIGNATURE: signing.signature(secret, timestamp, body)}


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once to the checked address of `url`; a 2xx answer is success, anything else is not."""
    timeout = settings.WEBHOOKS_TIMEOUT
    try:
        target = targets.check(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
    except TargetRefused as exc:
        return Answer(False, error=str(exc))
    conn = _connection(target, timeout)
    try:
        conn.request("POST", target.path, body=body, headers={**headers, "Host": _host_header(target)})
        response = conn.getresponse()
        response.read(RESPONSE_READ)
    except TimeoutError:
        return Answer(False, error=f"No answer within {timeout:g} seconds.")
    except ssl.SSLError as exc:
        return Answer(False, error=f"TLS failed: {exc.reason or exc}")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(False, error=f"Could not connect: {getattr(exc, 'strerror', None) or exc}."[:500])
    finally:
        conn.close()
    code = response.status
    if 200 <= code < 300:
        return Answer(True, code)
    if 300 <= code < 400:
        where = response.getheader("Location", "")[:200]
        return Answer(False, code, f"Answered with a redirect to {where!r}; redirects are not followed.")
    return Answer(False, code, f"Answered HTTP {code}.")


def _host_header(target: targets.Target) -> str:
    default = targets.SCHEMES[target.scheme] == target.port
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if default else f"{host}:{target.port}"


def _connection(target: targets.Target, timeout: float) -> http.client.HTTPConnection:
    conn: http.client.HTTPConnection
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    checked = target.address

    def connect(address: tuple[str, int], timeout: float | None = None, source_address: object = None) -> socket.socket:
        # The connection goes to the address that was checked, not to a second DNS answer.
        return socket.create_connection((checked, address[1]), timeout)

    conn._create_connection = connect  # type: ignore[attr-defined]
    return conn


# ---------------------------------------------------------------- the job


def deliver_due(budget: float = RUN_BUDGET) -> int:
    """Send the deliveries that are due, until none is left or the run's time is spent; returns
    how many were tried. An endpoint that fails is not tried again in the same run."""
    started, tried = time.monotonic(), 0
    failed: set[int] = set()
    while time.monotonic() - started < budget:
        due = list(HookDelivery.objects.filter(status=HookDelivery.PENDING, next_attempt_at__lte=timezone.now(),
                                               endpoint__active=True).exclude(endpoint_id__in=failed)
                   .order_by("next_attempt_at", "id").values_list("id", "next_attempt_at")[:BATCH])
        if not due:
            break
        for pk, when in due:
            if time.monotonic() - started >= budget:
                break
            delivery = _claim(pk, when)
            if delivery is None or delivery.endpoint_id in failed:
                continue
            tried += 1
            if not attempt(delivery):
                failed.add(delivery.endpoint_id)
    return tried


def _claim(pk: int, when: datetime) -> HookDelivery | None:
    lease = timezone.now() + timedelta(seconds=settings.WEBHOOKS_TIMEOUT * 3 + 60)
    took = HookDelivery.objects.filter(pk=pk, status=HookDelivery.PENDING, next_attempt_at=when).update(
        next_attempt_at=lease)
    if took != 1:
        return None  # another process took it
    return HookDelivery.objects.select_related("event", "endpoint").get(pk=pk)


def attempt(delivery: HookDelivery) -> bool:
    """One attempt, recorded; True when the endpoint took it."""
    endpoint, event = delivery.endpoint, delivery.event
    body = body_of(event)
    answer = post(endpoint.url, body, headers_for(event, endpoint.secret, body, int(time.time())))
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.response_code, delivery.last_error = now, answer.code, answer.error[:500]
    if answer.ok:
        delivery.status, delivery.delivered_at = HookDelivery.DELIVERED, now
        Endpoint.objects.filter(pk=endpoint.pk).exclude(failing_since=None).update(failing_since=None)
    elif delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
        delivery.status = HookDelivery.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    # An update, not a save: the endpoint may have been deleted during the attempt.
    HookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts, last_attempt_at=now, response_code=answer.code, last_error=delivery.last_error,
        status=delivery.status, delivered_at=delivery.delivered_at, next_attempt_at=delivery.next_attempt_at)
    if not answer.ok:
        log.info("webhook %s to %s failed (attempt %d): %s", event.public_id, endpoint.name, delivery.attempts,
                 answer.error)
        _failed(endpoint, now)
    return answer.ok


def _failed(endpoint: Endpoint, now: datetime) -> None:
    Endpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=now)
    since = Endpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).first()
    hours = settings.WEBHOOKS_DISABLE_AFTER_HOURS
    if since is None or now - since < timedelta(hours=hours):
        return
    reason = f"Every attempt failed for {hours} hours (since {since:%Y-%m-%d %H:%M} UTC)."
    if Endpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False, disabled_reason=reason) == 1:
        record(None, "webhook.disabled", endpoint, f"Webhook endpoint {endpoint.name} switched off: {reason}",
               url=endpoint.url)
        tell_organizers(endpoint, reason)


def organizer_addresses() -> list[str]:
    users = User.objects.filter(Q(is_superuser=True) | Q(groups__name=ORGANIZER), is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def tell_organizers(endpoint: Endpoint, reason: str) -> None:
    from mmooc.mailer import outbox

    page = settings.BASE_URL.rstrip("/") + f"/dashboard/webhooks/{endpoint.public_id}/"
    body = (f"The webhook endpoint **{endpoint.name}** ({endpoint.url}) has been switched off. {reason}\n\n"
            f"Events are no longer queued for it. Its delivery log and the switch to turn it back on are at "
            f"{page}")
    for address in organizer_addresses():
        outbox.send(to=address, subject=f"Webhook endpoint switched off: {endpoint.name}", body=body,
                    tag="webhook-disabled")


def prune() -> int:
    """The periodic job `hooks.prune`: forget events whose deliveries finished long ago."""
    before = timezone.now() - timedelta(days=KEEP_DAYS)
    open_ = HookDelivery.objects.filter(status=HookDelivery.PENDING).values("event_id")
    deleted, _ = HookEvent.objects.filter(created_at__lt=before).exclude(pk__in=open_).delete()
    return deleted
