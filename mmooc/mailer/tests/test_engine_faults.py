"""Whatever a transport or the rendering raises for one copy stays with that copy.

The transports here are the real SMTP transport against the test SMTP server, with one
fault added: raising for one recipient in the middle of a pipelined batch, or for every
batch (a broken provider library). The engine defers the copy with the exception's text,
logs the traceback, fails it after the retry limit, and sends everything else.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient
from mmooc.mailer.transports import SMTPTransport
from mmooc.testing import refused_statements

pytestmark = pytest.mark.django_db

BAD = "l3@example.org"


class RaisesForOne(SMTPTransport):
    """The SMTP transport with a fault for one recipient, raised while its commands are written."""

    def _commands(self, conn, job, data):
        if job.recipient == BAD:
            raise RuntimeError("provider library fault for this address")
        return super()._commands(conn, job, data)


class RaisesAlways(SMTPTransport):
    """The SMTP transport with a fault in every call, before anything is sent."""

    calls = 0

    def send(self, jobs):
        self.calls += 1
        return super().send(jobs)

    def connect(self):
        raise TypeError("unsupported operand in the client library")



@pytest.fixture
def smtp(smtp, settings):
    """The mailer's test server, with three attempts before a copy fails."""
    settings.MAIL_MAX_ATTEMPTS = 3
    return smtp

def queue(n: int, subject: str = "Week 1") -> Message:
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject=subject, body="Hello {{ name }}",
                         list_id="py-3.announce.example.org")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {"name": f"L{i}", "unsubscribe_url": f"https://x/u/{i}"})
                         for i in range(n)])
    return msg


def drain_with(transport) -> int:
    worker = engine.Engine(transport, use_lock=False)
    total = 0
    try:
        for _ in range(50):
            step = worker.step()
            if step.idle:
                break
            total += step.processed
    finally:
        worker.transport.close()
    return total


def later(**kw):
    return time_machine.travel(timezone.now() + timedelta(**kw), tick=False)


def faults(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mmooc.mailer" and r.exc_info]


def test_a_fault_for_one_copy_defers_it_and_the_rest_of_the_batch_goes_out(smtp, caplog, settings):
    msg = queue(8)
    assert drain_with(RaisesForOne(settings.EMAIL_CONFIG)) == 8
    bad = msg.deliveries.get(recipient=BAD)
    assert bad.status == Delivery.DEFERRED and bad.not_before > timezone.now()
    assert bad.last_error.startswith("RuntimeError: provider library fault for this address")
    good = [f"l{i}@example.org" for i in range(8) if i != 3]
    assert outbox.progress(msg)[Delivery.SENT] == 7
    assert {r.rcpt_tos[0] for r in smtp.received} == set(good)
    # Copies handed over before the fault may go out twice, always with the same Message-ID.
    for address in good:
        ids = {r.message["Message-ID"] for r in smtp.messages_to(address)}
        assert ids == {msg.deliveries.get(recipient=address).header_message_id()}
    logged = faults(caplog)
    assert logged and any(r.exc_info[0] is RuntimeError for r in logged)
    assert any(str(bad.pk) in r.getMessage() for r in logged)


def test_the_faulty_copy_fails_with_the_exceptions_text_after_the_retry_limit(smtp, settings):
    msg = queue(5)
    transport = RaisesForOne(settings.EMAIL_CONFIG)
    drain_with(transport)
    for days in (1, 2):
        with later(days=days):
            drain_with(transport)
    bad = msg.deliveries.get(recipient=BAD)
    assert (bad.status, bad.attempts) == (Delivery.FAILED, 3)
    assert bad.last_error == ("gave up after 3 attempts: RuntimeError: provider library fault for this address "
                              "(fault in transport smtp)")
    assert outbox.progress(msg)[Delivery.SENT] == 4
    assert BAD not in {r.rcpt_tos[0] for r in smtp.received}


def test_a_transport_that_raises_for_every_batch_defers_then_fails_and_the_engine_goes_on(smtp, settings, caplog):
    msg = queue(4)
    transport = RaisesAlways(settings.EMAIL_CONFIG)
    stop = threading.Event()
    worker = engine.Engine(transport, use_lock=False)
    assert engine.run(stop, once=True, engine=worker) == 4
    rows = list(msg.deliveries.all())
    assert {d.status for d in rows} == {Delivery.DEFERRED}
    assert all(d.last_error.startswith("TypeError: unsupported operand in the client library") for d in rows)
    assert any(r.exc_info[0] is TypeError for r in faults(caplog))
    # The transport never connected: dropping its (absent) connection after the fault is quiet.
    assert transport.conn is None
    assert not [r for r in faults(caplog) if "resetting transport" in r.getMessage()]
    for days in (1, 2):
        with later(days=days):
            engine.run(stop, once=True, engine=engine.Engine(transport, use_lock=False))
    rows = list(msg.deliveries.all())
    assert {(d.status, d.attempts) for d in rows} == {(Delivery.FAILED, 3)}
    assert all("gave up after 3 attempts: TypeError: unsupported operand" in d.last_error for d in rows)
    assert smtp.received == []
    # The same fault for every copy is logged with its traceback once per batch, then counted.
    assert any("the same fault for 4 deliveries" in r.getMessage() for r in caplog.records)


def test_the_threaded_engine_survives_a_fault_and_sends_the_other_copies(smtp, settings):
    msg = queue(6)
    stop = threading.Event()
    worker = engine.Engine(RaisesForOne(settings.EMAIL_CONFIG), use_lock=False, batch_size=2)
    assert engine.run(stop, once=True, engine=worker) == 6
    assert outbox.progress(msg)[Delivery.SENT] == 5
    assert msg.deliveries.get(recipient=BAD).status == Delivery.DEFERRED
    assert {r.rcpt_tos[0] for r in smtp.received} == {f"l{i}@example.org" for i in range(6) if i != 3}


def test_a_message_that_cannot_be_rendered_defers_its_copies_and_the_others_go_out(smtp, monkeypatch, caplog):
    broken, fine = queue(3, subject="Broken"), queue(2, subject="Fine")
    real = engine.prepare

    def prepare(message):
        if message.pk == broken.pk:
            raise KeyError("a template variable vanished")
        return real(message)

    monkeypatch.setattr(engine, "prepare", prepare)
    assert engine.drain() == 5
    assert outbox.progress(fine)[Delivery.SENT] == 2
    rows = list(broken.deliveries.all())
    assert {d.status for d in rows} == {Delivery.DEFERRED}
    assert rows[0].last_error == "the message cannot be built: KeyError: 'a template variable vanished'"
    assert any(r.exc_info[0] is KeyError for r in faults(caplog))
    # Not kept as broken: once the fault is gone, the next attempt builds and sends it.
    monkeypatch.setattr(engine, "prepare", real)
    with later(days=1):
        assert engine.drain() == 3
    assert outbox.progress(broken)[Delivery.SENT] == 3
    assert sorted(r.message["Subject"] for r in smtp.received) == ["Broken"] * 3 + ["Fine"] * 2


def test_a_transport_broken_for_everyone_is_not_tried_copy_by_copy_for_the_whole_batch(smtp, settings, caplog):
    msg = queue(40)
    transport = RaisesAlways(settings.EMAIL_CONFIG)
    assert drain_with(transport) == 40
    assert transport.calls == 1 + engine.FAULTS_IN_A_ROW
    rows = list(msg.deliveries.all())
    assert {d.status for d in rows} == {Delivery.DEFERRED}
    assert all(d.last_error.startswith("TypeError: unsupported operand") for d in rows)
    assert "35 more deferred untried" in caplog.text
    assert any("the same fault for 40 deliveries" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_outcomes_whose_write_fails_once_are_written_again_and_no_copy_goes_out_twice(smtp, monkeypatch, caplog):
    # As when SQLite's table is locked by a reader, or PostgreSQL drops the connection, just
    # after the copies went out: given up, their rows would wait for their lease and be sent again.
    monkeypatch.setattr(engine, "RECORD_RETRY_WAIT", 0.01)
    monkeypatch.setattr(engine, "DB_RETRY_WAIT", 0.01)
    msg = queue(3)
    with refused_statements("UPDATE mailer_delivery SET status = 'sent'", times=1) as failed:
        engine.run(threading.Event(), once=True, engine=engine.Engine(use_lock=False))
    assert failed
    assert outbox.progress(msg)[Delivery.SENT] == 3
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [f"l{i}@example.org" for i in range(3)]
    assert any("writing the outcomes of 3 copies failed" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_outcomes_that_cannot_be_written_are_left_to_their_lease_as_before(smtp, monkeypatch):
    monkeypatch.setattr(engine, "RECORD_RETRY_WAIT", 0.01)
    monkeypatch.setattr(engine, "DB_RETRY_WAIT", 0.01)
    msg = queue(2)
    with refused_statements("UPDATE mailer_delivery SET status = 'sent'") as tries:
        engine.run(threading.Event(), once=True, engine=engine.Engine(use_lock=False))
    assert len(tries) == engine.RECORD_TRIES
    assert set(msg.deliveries.values_list("status", flat=True)) == {Delivery.SENDING}  # sent again after the lease
