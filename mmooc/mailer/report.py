"""What the delivery engine tells its log: one line per batch, and why copies were deferred
or failed, the same reason counted rather than repeated.

    INFO  batch of 500: 480 sent, 15 deferred, 3 failed, 2 suppressed in 1.21 s (413/s, smtp)
    WARNING 907 deferred: 451 4.7.1 try later (smtp)

A reason is logged at once the first time, then at most once per REASONS_EVERY seconds
with the number of copies it stood for since; what is pending is logged when the engine
goes idle past that interval or stops. Addresses in a reason (an SMTP reply often quotes
the recipient) are replaced by `<address>`: logs name no learner.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("mmooc.mailer")

REASONS_EVERY = 60.0  # seconds
REASON_LENGTH = 200
_ADDRESS = re.compile(r"<?[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+>?")


@dataclass
class Tally:
    """The outcomes of one recorded batch."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    suppressed: int = 0
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (outcome, reason): copies

    @property
    def total(self) -> int:
        return self.sent + self.deferred + self.failed + self.suppressed

    def merge(self, other: Tally) -> None:
        """Count another part of the same batch (the chunks recorded while it was on the wire)."""
        for outcome in ("sent", "deferred", "failed", "suppressed"):
            setattr(self, outcome, getattr(self, outcome) + getattr(other, outcome))
        self.reasons.update(other.reasons)

    def add(self, outcome: str, reason: str = "") -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome in ("deferred", "failed"):
            self.reasons[(outcome, reason_text(reason))] += 1


def reason_text(error: str) -> str:
    """One line, no address, at most REASON_LENGTH characters."""
    text = " ".join(_ADDRESS.sub("<address>", error).split())
    return text if len(text) <= REASON_LENGTH else text[:REASON_LENGTH - 1] + "…"


class Report:
    """The log lines of one engine."""

    def __init__(self, transport: str, *, every: float = REASONS_EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.every = every
        self.clock = clock
        self.claims: deque[float] = deque()  # when each batch still in flight was claimed
        self.last_recorded = float("-inf")
        self.pending: Counter[tuple[str, str]] = Counter()
        self.last_reasons = float("-inf")

    def claimed(self) -> None:
        self.claims.append(self.clock())

    def recorded(self, tally: Tally) -> None:
        """One line for the batch; its reasons now or with the next aggregate."""
        now = self.clock()
        started = self.claims.popleft() if self.claims else now
        # Batches overlap (one on the wire while the last is recorded): the time since the
        # previous record is what this one added, the rate what the engine sustains.
        seconds = max(now - max(started, self.last_recorded), 1e-6)
        self.last_recorded = now
        log.info("batch of %d: %d sent, %d deferred, %d failed, %d suppressed in %.2f s (%.0f/s, %s)",
                 tally.total, tally.sent, tally.deferred, tally.failed, tally.suppressed, seconds,
                 tally.total / seconds, self.transport,
                 extra={"batch": tally.total, "sent": tally.sent, "deferred": tally.deferred,
                        "failed": tally.failed, "suppressed": tally.suppressed,
                        "seconds": round(seconds, 3), "rate": round(tally.total / seconds, 1),
                        "transport": self.transport})
        self.pending.update(tally.reasons)
        self.tick()

    def tick(self) -> None:
        """Log the pending reasons if the interval has passed (the engine calls this when idle too)."""
        if self.pending and self.clock() - self.last_reasons >= self.every:
            self.flush()

    def flush(self) -> None:
        for (outcome, reason), copies in self.pending.most_common():
            log.warning("%d %s: %s (%s)", copies, outcome, reason, self.transport,
                        extra={"copies": copies, "outcome": outcome, "reason": reason,
                               "transport": self.transport})
        self.pending.clear()
        self.last_reasons = self.clock()
