"""A circuit breaker per recipient domain: repeated refusals for policy or reputation pause
sending to that domain for a while, and staff are told.

    noted = breaker.note([(address, reply), …])   # refusals of one batch; domains newly paused
    breaker.paused()                               # {domain: seconds left}
    breaker.resume("example.com", actor)           # an organizer lifts a pause early

A refusal counts when its reply is about policy or reputation rather than the mailbox: an
enhanced code 4.7.x or 5.7.x, or the words of `bounces.is_policy_refusal`. MAIL_DOMAIN_PAUSE_AFTER
such refusals from one domain within MAIL_DOMAIN_PAUSE_WINDOW seconds pause it for
MAIL_DOMAIN_PAUSE_SECONDS: the engine then puts that domain's copies back in the queue until
the pause ends, without counting an attempt, and every other domain goes on. The counts and
pauses are shared windows of `operations.ratelimits`, so every worker on every machine sees
them. Each pause is written to the audit log (`mail.domain-paused`) and the log, and shown on
every staff page until it ends.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from django.conf import settings

from mmooc.audit.log import record
from mmooc.mailer import bounces
from mmooc.mailer.report import reason_text
from mmooc.operations import ratelimits

log = logging.getLogger("mmooc.mailer")

COUNT, PAUSE = "mail:policy-refusals:", "mail:domain-paused:"
PAUSED, RESUMED = "mail.domain-paused", "mail.domain-resumed"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(">")


def note(refusals: Iterable[tuple[str, str]]) -> list[str]:
    """Count the policy refusals of one batch per domain; pause the domains that reached the
    limit now. Returns the domains newly paused."""
    limit = settings.MAIL_DOMAIN_PAUSE_AFTER
    if limit <= 0:
        return []
    counted = Counter(domain_of(address) for address, reply in refusals if bounces.is_policy_refusal(reply))
    last = {domain_of(address): reply for address, reply in refusals}
    paused_now = []
    for domain, n in counted.items():
        hits, _ = ratelimits.hit(COUNT + domain, settings.MAIL_DOMAIN_PAUSE_WINDOW, hits=n)
        if hits >= limit and hits - n < limit:
            _pause(domain, hits, last[domain])
            paused_now.append(domain)
    return paused_now


def _pause(domain: str, refusals: int, reply: str) -> None:
    reply = reason_text(reply)  # one line, no address
    ratelimits.clear(PAUSE + domain)
    _, seconds = ratelimits.hit(PAUSE + domain, settings.MAIL_DOMAIN_PAUSE_SECONDS)
    minutes = round(seconds / 60)
    window = round(settings.MAIL_DOMAIN_PAUSE_WINDOW / 60)
    log.warning("delivery engine: sending to %s paused for %d min after %d refusals for policy or reputation "
                "in %d min; the last: %s", domain, minutes, refusals, window, reply)
    record(None, PAUSED, None,
           f"Sending to {domain} paused for {minutes} min after {refusals} refusals for policy or reputation "
           f"in {window} min",
           domain=domain, refusals=refusals, minutes=minutes, last_reply=reply)


def paused() -> dict[str, float]:
    """The domains paused now, with the seconds left."""
    return {key.removeprefix(PAUSE): left for key, (_, left) in ratelimits.open_windows(PAUSE).items()}


def resume(domain: str, actor: object) -> bool:
    """Lift a domain's pause (and forget its refusals so far); False if it was not paused."""
    domain = domain.strip().lower()
    if domain not in paused():
        return False
    ratelimits.clear(PAUSE + domain)
    ratelimits.clear(COUNT + domain)
    record(actor, RESUMED, None, f"Sending to {domain} resumed before its pause ended", domain=domain)
    return True
