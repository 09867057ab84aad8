"""What the engine logs: a line per batch, deferral and failure reasons counted, no addresses."""

from __future__ import annotations

import logging
import threading

import pytest

from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.report import Report, Tally, reason_text

pytestmark = pytest.mark.django_db


def queue(n: int) -> Message:
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello {{ name }}", body="Hi {{ name }}")
    outbox.enqueue(msg, [outbox.Recipient(f"l{i}@example.org", {"name": f"L{i}"}) for i in range(n)])
    return msg


def run_once(batch: int) -> None:
    eng = engine.Engine(batch_size=batch)
    engine.run(threading.Event(), once=True, engine=eng)


def mailer_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mmooc.mailer"]


def test_each_batch_gets_one_line_with_its_counts_and_rate(smtp_sink, caplog):
    caplog.set_level(logging.INFO, logger="mmooc")
    queue(25)
    run_once(batch=10)
    batches = [r for r in mailer_lines(caplog) if r.getMessage().startswith("batch of")]
    assert [r.getMessage().split(" in ")[0] for r in batches] == [
        "batch of 10: 10 sent, 0 deferred, 0 failed, 0 suppressed",
        "batch of 10: 10 sent, 0 deferred, 0 failed, 0 suppressed",
        "batch of 5: 5 sent, 0 deferred, 0 failed, 0 suppressed"]
    assert all(r.getMessage().endswith("/s, smtp)") for r in batches)
    assert [(r.sent, r.batch, r.transport) for r in batches] == [(10, 10, "smtp"), (10, 10, "smtp"), (5, 5, "smtp")]
    assert all(r.rate > 0 and r.seconds > 0 for r in batches)


def test_a_repeated_deferral_reason_is_logged_once_with_its_count(smtp_sink, caplog, settings):
    settings.MAIL_DOMAIN_PAUSE_AFTER = 0  # 4.7.1 is a policy refusal: here only the counting is read
    caplog.set_level(logging.INFO, logger="mmooc")
    smtp_sink.reply = lambda envelope: f"451 4.7.1 <{envelope.rcpt_tos[0]}> try later"
    msg = queue(30)
    run_once(batch=10)
    assert msg.deliveries.filter(status=Delivery.DEFERRED).count() == 30
    reasons = [r.getMessage() for r in mailer_lines(caplog) if r.levelno == logging.WARNING]
    # At once the first time, then the rest together (here when the engine stops).
    assert reasons == ["10 deferred: 451 4.7.1 <address> try later (smtp)",
                       "20 deferred: 451 4.7.1 <address> try later (smtp)"]
    assert not any("@example.org" in r.getMessage() for r in caplog.records)


def test_failures_are_counted_by_reason_too(smtp_sink, caplog):
    caplog.set_level(logging.INFO, logger="mmooc")
    smtp_sink.reply = lambda envelope: "550 5.1.1 no such user" if "l1@" in envelope.rcpt_tos[0] else None
    queue(3)
    run_once(batch=10)
    reasons = [r.getMessage() for r in mailer_lines(caplog) if r.levelno == logging.WARNING]
    assert reasons == ["1 failed: 550 5.1.1 no such user (smtp)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deferred(n: int, reason: str) -> Tally:
    tally = Tally()
    for _ in range(n):
        tally.add("deferred", reason)
    return tally


def test_reasons_are_aggregated_per_interval(caplog):
    caplog.set_level(logging.INFO, logger="mmooc")
    clock = Clock()
    report = Report("smtp", every=60, clock=clock)
    for _ in range(10):  # 907 copies over ten batches, within one minute
        report.claimed()
        clock.now += 5
        report.recorded(deferred(90, "451 4.7.1 try later"))
    report.claimed()
    report.recorded(deferred(7, "451 4.7.1 try later"))
    clock.now += 60
    report.tick()
    reasons = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert reasons == ["90 deferred: 451 4.7.1 try later (smtp)", "817 deferred: 451 4.7.1 try later (smtp)"]


def test_a_reason_is_one_short_line_without_addresses():
    text = reason_text("452 4.2.2 <Ada.Lovelace+mmooc@Example.ORG>:\r\n mailbox   full " + "x" * 300)
    assert text.startswith("452 4.2.2 <address>: mailbox full xxx")
    assert len(text) == 200 and "\n" not in text


def test_the_rate_is_the_time_each_batch_added(caplog):
    caplog.set_level(logging.INFO, logger="mmooc")
    clock = Clock()
    report = Report("mailgun", clock=clock)
    report.claimed()
    clock.now += 1
    report.claimed()  # the second batch is claimed while the first is on the wire
    clock.now += 1
    report.recorded(Tally(sent=500))  # the first: 2 s from its claim
    clock.now += 0.5
    report.recorded(Tally(sent=500))  # the second: 0.5 s after the first was recorded
    assert [(r.seconds, r.rate) for r in caplog.records] == [(2.0, 250.0), (0.5, 1000.0)]
