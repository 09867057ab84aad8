from __future__ import annotations

import os
import smtplib
import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import time_machine
from django.utils import timezone

from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message, Suppression
from mmooc.mailer.outbox import Recipient
from mmooc.mailer.transports import PERMANENT, TRANSIENT, Result
from mmooc.mailer.verp import delivery_from_bounce_address
from mmooc.testing import SMTPServer

pytestmark = pytest.mark.django_db


def queue(n: int, **kw) -> Message:
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1 for {{ name }}", body="Hello {{ name }}",
                         list_id="py-3.announce.example.org", **kw)
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {"name": f"L{i}", "unsubscribe_url": f"https://x/u/{i}"})
                         for i in range(n)])
    return msg


def later(**kw):
    return time_machine.travel(timezone.now() + timedelta(**kw), tick=False)


def test_it_stores_the_message_in_outbox_mode(settings):
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    msg = queue(3)
    assert engine.drain() == 3
    d = msg.deliveries.get(recipient="l1@example.org")
    assert d.status == Delivery.SENT and d.sent_at is not None
    stored = message_from_bytes(bytes(d.stored), policy=policy.default)
    assert stored["To"] == "l1@example.org" and "Hello L1" in stored.get_body(("plain",)).get_content()


def test_it_delivers_a_batch_over_smtp(smtp):
    msg = queue(20)
    assert engine.drain() == 20
    assert outbox.progress(msg)[Delivery.SENT] == 20
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(f"l{i}@example.org" for i in range(20))
    got = smtp.messages_to("l7@example.org")[0]
    assert got.message["Subject"] == "Week 1 for L7"
    assert got.message["Message-ID"] == msg.deliveries.get(recipient="l7@example.org").header_message_id()


def test_it_uses_a_return_path_that_names_the_delivery(smtp):
    msg = queue(1)
    engine.drain()
    assert delivery_from_bounce_address(smtp.received[0].mail_from) == msg.deliveries.get()


def test_an_automatic_reply_goes_out_with_a_null_envelope_sender(smtp):
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Your message was not sent", body="x",
                         headers={"Auto-Submitted": "auto-replied"})
    outbox.enqueue(msg, [Recipient("stranger@example.org")])
    engine.drain()
    assert smtp.received[0].mail_from == "<>"
    assert smtp.received[0].message["Auto-Submitted"] == "auto-replied"


def test_it_does_not_send_before_not_before(smtp):
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Later", body="x")
    outbox.enqueue(msg, [Recipient("a@example.org", not_before=timezone.now() + timedelta(hours=2))])
    assert engine.drain() == 0
    with later(hours=3):
        assert engine.drain() == 1
    assert len(smtp.received) == 1


def test_it_retries_4xx_until_every_copy_arrives_once(smtp):
    refused: set[str] = set()

    def reply(envelope):
        rcpt = envelope.rcpt_tos[0]
        if rcpt.startswith("l") and rcpt[1:].split("@")[0].endswith("3") and rcpt not in refused:
            refused.add(rcpt)
            return "451 4.3.0 try again later"
        return None

    smtp.reply = reply
    msg = queue(30)
    engine.drain()
    counts = outbox.progress(msg)
    assert (counts[Delivery.SENT], counts[Delivery.DEFERRED]) == (27, 3)
    assert msg.deliveries.filter(status=Delivery.DEFERRED).first().last_error.startswith("451")
    with later(days=1):
        engine.drain()
    assert outbox.progress(msg)[Delivery.SENT] == 30
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(f"l{i}@example.org" for i in range(30))


def test_it_fails_5xx_with_the_reason_and_does_not_retry(smtp):
    smtp.reply = lambda env: "550 5.1.1 no such user" if env.rcpt_tos[0] == "l2@example.org" else None
    msg = queue(5)
    engine.drain()
    failed = msg.deliveries.get(recipient="l2@example.org")
    assert failed.status == Delivery.FAILED and "no such user" in failed.last_error
    with later(days=2):
        assert engine.drain() == 0
    assert failed.attempts == 1 and len(smtp.received) == 4


def test_it_defers_the_batch_when_the_server_goes_away_and_sends_when_it_returns(smtp):
    def reply(envelope):
        if len(smtp.received) == 4 and smtp._controller.server.is_serving():
            smtp._controller.server.close()  # stop listening: new connections are refused
            return "421 4.3.2 shutting down"
        return None

    smtp.reply = reply
    msg = queue(10)
    engine.drain()
    assert outbox.progress(msg)[Delivery.SENT] == 4
    assert outbox.progress(msg)[Delivery.DEFERRED] == 6
    smtp.stop()
    back = SMTPServer(port=smtp.port).start()
    try:
        with later(days=1):
            engine.drain()
    finally:
        back.stop()
    assert outbox.progress(msg)[Delivery.SENT] == 10
    assert sorted(r.rcpt_tos[0] for r in smtp.received + back.received) == sorted(
        f"l{i}@example.org" for i in range(10))


def test_it_defers_everything_while_the_server_is_down(smtp):
    smtp.stop()
    msg = queue(3)
    engine.drain()
    assert outbox.progress(msg)[Delivery.DEFERRED] == 3
    assert "could not connect" in msg.deliveries.first().last_error


def test_it_gives_up_after_the_maximum_attempts(smtp, settings):
    settings.MAIL_MAX_ATTEMPTS = 2
    smtp.reply = lambda env: "452 4.2.2 mailbox full"
    msg = queue(1)
    engine.drain()
    with later(days=1):
        engine.drain()
    d = msg.deliveries.get()
    assert (d.status, d.attempts) == (Delivery.FAILED, 2)
    assert d.last_error.startswith("gave up after 2 attempts: 452")


def test_it_skips_suppressed_addresses(smtp):
    Suppression.objects.create(address="l1@example.org", reason=Suppression.HARD_BOUNCE)
    msg = queue(3)
    engine.drain()
    assert msg.deliveries.get(recipient="l1@example.org").status == Delivery.SUPPRESSED
    assert not smtp.messages_to("l1@example.org") and len(smtp.received) == 2


def test_it_holds_a_paused_message_until_resumed(smtp):
    msg = queue(3)
    outbox.pause(msg)
    assert engine.drain() == 0
    outbox.resume(msg)
    assert engine.drain() == 3


def test_it_sends_nothing_of_a_cancelled_message(smtp):
    msg = queue(3)
    outbox.cancel(msg)
    assert engine.drain() == 0 and not smtp.received


def test_it_takes_back_rows_whose_lease_expired(smtp):
    msg = queue(2)
    jobs = engine.claim(10)  # a worker that then died
    assert len(jobs) == 2 and engine.drain() == 0
    with later(minutes=10):
        assert engine.drain() == 2
    d = msg.deliveries.first()
    assert d.status == Delivery.SENT and d.attempts == 2


def test_it_fails_a_copy_whose_context_would_inject_a_header(smtp):
    msg = queue(2)
    msg.deliveries.filter(recipient="l0@example.org").update(context={"name": "x\r\nBcc: evil@example.org",
                                                                      "unsubscribe_url": "https://x/u/0"})
    engine.drain()
    d = msg.deliveries.get(recipient="l0@example.org")
    assert d.status == Delivery.FAILED and "line break" in d.last_error
    assert len(smtp.received) == 1


def test_it_records_a_batch_in_one_transaction(smtp, django_assert_max_num_queries):
    queue(50)
    eng = engine.Engine(use_lock=False)
    with django_assert_max_num_queries(12):
        assert eng.step().processed == 50
    eng.stop()


def test_the_rate_limit_grants_tokens_per_second_across_engines():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert engine.take_tokens("test", 10, 50)[0] == 10
        granted, wait = engine.take_tokens("test", 10, 50)
        assert granted == 0 and 0 < wait <= 0.1
    with time_machine.travel(start + timedelta(seconds=0.5), tick=False):
        assert engine.take_tokens("test", 10, 50)[0] == 5


def test_a_second_engine_on_sqlite_refuses_to_start():
    engine.acquire_lock("host:1:a")
    with pytest.raises(engine.EngineBusy, match="already running"):
        engine.acquire_lock("host:2:b")


def test_an_engine_takes_over_a_stale_lock():
    with later(minutes=-5):
        engine.acquire_lock("host:1:a")
    engine.acquire_lock("host:2:b")


def test_an_engine_taking_its_own_lock_again_keeps_it_and_its_rows(smtp):
    import os

    owner = f"{os.uname().nodename}:{os.getpid()}:a"
    queue(2)
    engine.acquire_lock(owner)
    claimed = engine.claim(2)
    engine.acquire_lock(owner)  # no EngineBusy: the live holder is this engine
    assert Delivery.objects.filter(pk__in=[j.id for j in claimed], status=Delivery.SENDING,
                                   lease_until__gt=timezone.now()).count() == 2


def test_an_engine_taking_over_a_dead_ones_lock_takes_its_rows_back_at_once(smtp):
    import os
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    queue(2)
    engine.acquire_lock(f"{os.uname().nodename}:{gone.pid}:a")
    engine.claim(2)
    engine.acquire_lock(f"{os.uname().nodename}:{os.getpid()}:b")
    assert len(engine.claim(2, expired=True)) == 2


def test_a_rate_under_one_a_second_grants_no_more_than_one_after_a_long_idle():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        engine.take_tokens("slow", 0.5, 10)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert engine.take_tokens("slow", 0.5, 10)[0] == 1


def test_every_look_of_an_engine_says_it_is_alive(smtp):
    from mmooc.mailer.models import EngineHeartbeat

    eng = engine.Engine(use_lock=False)
    eng.start()
    try:
        assert eng.step().idle  # nothing due: the look itself beats
        first = EngineHeartbeat.objects.get(owner=eng.owner).beat_at
        with later(seconds=engine.HEARTBEAT_EVERY.total_seconds() + 1):
            eng.step()
            assert EngineHeartbeat.objects.get(owner=eng.owner).beat_at > first
    finally:
        eng.stop()


def test_it_relays_a_raw_message_with_crlf_and_dot_stuffing(smtp):
    raw = (b"From: a@example.org\nTo: g12@lists.example.org\nSubject: Hi\nMessage-ID: <p1@example.org>\n"
           b"\nHello\n.hidden\n")
    msg = outbox.compose_raw(raw=raw)
    outbox.enqueue(msg, [Recipient("bob@example.org", {"unsubscribe_url": "https://x/u/1"})])
    engine.drain()
    got = smtp.received[0].data
    assert got.endswith(b"Hello\r\n.hidden\r\n") and got.count(b"\r\n") == got.count(b"\n")
    assert smtp.received[0].message["Message-ID"] == "<p1@example.org>"


def test_an_engine_takes_over_the_lock_of_a_dead_process_on_this_machine():
    import os
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    engine.acquire_lock(f"{os.uname().nodename}:{gone.pid}:a")
    engine.acquire_lock(f"{os.uname().nodename}:{os.getpid()}:b")


def test_it_asks_for_a_dsn_naming_the_delivery_when_the_server_offers_it(settings):
    from mmooc.mailer.transports import Job, SMTPTransport
    from mmooc.mailer.verp import id_from_token

    class Offers:
        def has_extn(self, name: str) -> bool:
            return name == "dsn"

    job = Job(id=42, message_id=1, recipient="a@example.org", context={}, rfc_message_id="<x@y>", attempts=1)
    commands = SMTPTransport(parse_email_url("smtp://127.0.0.1:25"))._commands(Offers(), job, b"x")
    envid = commands.split("ENVID=")[1].split("\r\n")[0]
    assert " RET=HDRS " in commands and id_from_token(envid) == 42


def test_a_busy_engine_also_takes_back_expired_rows_now_and_then(smtp):
    msg = queue(3)
    stale = engine.claim(1)[0]  # a worker that then died
    with later(minutes=10):
        eng = engine.Engine(use_lock=False, batch_size=1)
        eng.step()  # busy with due rows
        assert Delivery.objects.get(pk=stale.id).status == Delivery.SENDING
    with later(minutes=11):
        eng.step()
    eng.stop()
    assert Delivery.objects.get(pk=stale.id).status == Delivery.SENT
    assert outbox.progress(msg)[Delivery.SENT] == 2


def test_the_engine_sends_no_more_than_the_rate_limit_allows(smtp, settings):
    settings.MAIL_RATE_LIMIT = 5
    queue(20)
    with time_machine.travel(timezone.now(), tick=False):
        eng = engine.Engine(use_lock=False)
        first, second = eng.step(), eng.step()
        eng.stop()
    assert (first.processed, second.processed) == (5, 0) and second.wait > 0
    assert len(smtp.received) == 5


def test_check_can_run_reports_a_live_engine_on_sqlite():
    from django.db import connection

    engine.check_can_run()
    engine.acquire_lock(f"{socket.gethostname()}:{os.getpid()}:other")
    if connection.vendor == "sqlite":
        with pytest.raises(engine.EngineBusy, match="SQLite allows one engine"):
            engine.check_can_run()
    else:
        engine.check_can_run()  # several engines may run on PostgreSQL


def test_a_batch_may_hold_more_messages_than_the_engine_keeps_rendered(smtp, monkeypatch):
    monkeypatch.setattr(engine, "PREPARED_CACHE", 2)
    for i in range(5):
        outbox.send(to=f"c{i}@example.org", subject="Confirm", body=f"Confirm number {i}")
    assert engine.drain() == 5
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [f"c{i}@example.org" for i in range(5)]


def test_run_records_every_batch_while_the_next_one_is_sent(smtp):
    import threading

    msg = queue(7)
    total = engine.run(threading.Event(), once=True, engine=engine.Engine(use_lock=False, batch_size=2))
    assert total == 7 and outbox.progress(msg)[Delivery.SENT] == 7
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == sorted(f"l{i}@example.org" for i in range(7))


@pytest.mark.parametrize("spelling", ["Ada@Example.org", "ADA@EXAMPLE.ORG"])
def test_it_skips_a_suppressed_address_whatever_its_letter_case_in_outbox_mode(settings, spelling):
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    settings.MAIL_RATE_LIMIT = 0
    Suppression.objects.create(address="ada@example.org", reason=Suppression.COMPLAINT)
    d = outbox.send(to=spelling, subject="Your page", body="Here it is")
    engine.drain()
    d.refresh_from_db()
    assert (d.recipient, d.status, d.stored) == (spelling, Delivery.SUPPRESSED, None)


@pytest.mark.parametrize("spelling", ["Ada@Example.org", "ADA@EXAMPLE.ORG"])
def test_it_skips_a_suppressed_address_whatever_its_letter_case_over_smtp(smtp, spelling):
    Suppression.objects.create(address="ada@example.org", reason=Suppression.HARD_BOUNCE)
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Your page", body="Here it is")
    outbox.enqueue(msg, [Recipient(spelling), Recipient("Bob@Example.org")])
    engine.drain()
    assert msg.deliveries.get(recipient=spelling).status == Delivery.SUPPRESSED
    assert [r.rcpt_tos for r in smtp.received] == [["Bob@Example.org"]]


def test_the_rate_limit_never_banks_idle_time():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert engine.take_tokens("idle", 10, 10) == (10, 0.0)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert engine.take_tokens("idle", 10, 100_000)[0] == 10
        granted, wait = engine.take_tokens("idle", 10, 100_000)
    assert granted == 0 and wait > 0


def test_the_rate_limit_grants_a_fresh_bucket_one_second_of_sends():
    with time_machine.travel(timezone.now(), tick=False):
        assert engine.take_tokens("fresh", 10, 100)[0] == 10
        assert engine.take_tokens("fresh", 10, 100)[0] == 0


def test_a_cancelled_message_never_sends_its_retries_even_if_resumed(smtp):
    smtp.reply = lambda env: "451 4.3.0 try again later"
    msg = queue(2)
    engine.drain()
    assert outbox.progress(msg)[Delivery.DEFERRED] == 2
    smtp.reply = None
    outbox.cancel(msg)
    outbox.resume(msg)
    with later(days=1):
        assert engine.drain() == 0
    assert outbox.progress(msg)[Delivery.CANCELLED] == 2
    assert len(smtp.received) == 0


def test_the_claim_skips_the_rows_of_a_paused_message():
    held, other = queue(2), outbox.compose(kind=Message.TRANSACTIONAL, subject="Confirm", body="x")
    outbox.enqueue(other, [Recipient("c@example.org")])
    outbox.pause(held)
    jobs = engine.claim(10)
    assert [j.recipient for j in jobs] == ["c@example.org"]
    assert set(held.deliveries.values_list("status", "attempts")) == {(Delivery.QUEUED, 0)}


def test_a_paused_message_s_expired_rows_are_not_taken_back_until_resumed():
    msg = queue(1)
    engine.claim(10)  # a worker that then died
    outbox.pause(msg)
    with later(minutes=10):
        assert engine.claim(10, expired=True) == []
        outbox.resume(msg)
        assert len(engine.claim(10, expired=True)) == 1


def test_it_retries_until_the_last_attempt_then_gives_up(smtp, settings):
    settings.MAIL_MAX_ATTEMPTS = 3
    smtp.reply = lambda env: "452 4.2.2 mailbox full"
    msg = queue(1)
    d = msg.deliveries.get()
    engine.drain()
    d.refresh_from_db()
    assert (d.status, d.attempts) == (Delivery.DEFERRED, 1)
    with later(days=1):
        engine.drain()
    d.refresh_from_db()
    assert (d.status, d.attempts) == (Delivery.DEFERRED, 2)
    with later(days=2):
        engine.drain()
    d.refresh_from_db()
    assert (d.status, d.attempts) == (Delivery.FAILED, 3)
    assert len(smtp.received) == 0


def test_an_engine_woken_once_waits_again_after_it_looked():
    engine.wake()
    engine._idle(threading.Event(), 60)  # returns at once: it was woken
    assert not engine._woken.is_set()


def test_unused_rate_limit_tokens_go_back_to_the_bucket(smtp, settings):
    settings.MAIL_RATE_LIMIT = 10
    queue(3)
    with time_machine.travel(timezone.now(), tick=False):
        eng = engine.Engine(use_lock=False)
        assert eng.step().processed == 3
        eng.stop()
        assert engine.take_tokens(settings.EMAIL_CONFIG.name, 10, 50)[0] == 7


def test_a_look_that_finds_nothing_gives_back_the_only_token_of_a_rate_of_one(smtp, settings):
    settings.MAIL_RATE_LIMIT = 1
    with time_machine.travel(timezone.now(), tick=False):
        eng = engine.Engine(use_lock=False)
        assert eng.step().idle
        eng.stop()
        assert engine.take_tokens(settings.EMAIL_CONFIG.name, 1, 50)[0] == 1


def test_retries_wait_twice_as_long_each_time_up_to_six_hours(monkeypatch):
    monkeypatch.setattr(engine.random, "uniform", lambda low, high: 1.0)
    assert [engine.retry_delay(n) for n in (1, 2, 3, 4)] == [60.0, 120.0, 240.0, 480.0]
    assert engine.retry_delay(20) == 6 * 3600.0


def test_retries_spread_between_half_and_one_and_a_half_times_the_delay(monkeypatch):
    seen = []
    monkeypatch.setattr(engine.random, "uniform", lambda low, high: seen.append((low, high)) or high)
    assert engine.retry_delay(1) == 90.0 and seen == [(0.5, 1.5)]


def test_it_keeps_the_first_2000_characters_of_an_error():
    msg = queue(2)
    jobs = {j.id: j for j in engine.claim(10)}
    first, second = sorted(jobs)
    engine.record([Result(first, TRANSIENT, "4" * 5000), Result(second, PERMANENT, "5" * 5000)], jobs, 5)
    assert sorted(len(e) for e in msg.deliveries.values_list("last_error", flat=True)) == [2000, 2000]


def test_engines_without_the_sqlite_lock_start_side_by_side():
    from mmooc.mailer.models import EngineLock

    first, second = engine.Engine(use_lock=False), engine.Engine(use_lock=False)
    first.start()
    second.start()
    assert not EngineLock.objects.exists()
    first.stop()
    second.stop()


def test_run_once_waits_out_the_rate_limit_and_stops_only_when_nothing_is_due(smtp, settings, monkeypatch):
    settings.MAIL_RATE_LIMIT = 2
    refused = []
    take = engine.take_tokens

    def counted(*args):
        granted, wait = take(*args)
        if not granted:
            refused.append(wait)
        return granted, wait

    monkeypatch.setattr(engine, "take_tokens", counted)
    msg = queue(3)
    total = engine.run(threading.Event(), once=True, engine=engine.Engine(use_lock=False, batch_size=50))
    assert total == 3 and outbox.progress(msg)[Delivery.SENT] == 3
    assert 1 <= len(refused) <= 3  # it waited for the next token instead of asking again and again


@pytest.mark.parametrize("offered, writes", [(True, 4), (False, 12)])
def test_it_pipelines_only_when_the_server_offers_it(smtp_server, settings, monkeypatch, offered, writes):
    settings.EMAIL_CONFIG = parse_email_url(smtp_server.url)
    settings.MAIL_RATE_LIMIT = 0
    has_extn, send = smtplib.SMTP.has_extn, smtplib.SMTP.send
    monkeypatch.setattr(smtplib.SMTP, "has_extn",
                        lambda self, name: offered if name.lower() == "pipelining" else has_extn(self, name))
    sent = []
    monkeypatch.setattr(smtplib.SMTP, "send", lambda self, data: sent.append(data) or send(self, data))
    msg = queue(3)
    engine.drain()
    assert outbox.progress(msg)[Delivery.SENT] == 3
    # Pipelined: one write per copy (its commands, with the previous copy's data) and one for
    # the last data; one command at a time: MAIL, RCPT, DATA and the data for each copy.
    assert len([d for d in sent if not str(d).startswith(("ehlo", "EHLO", "quit", "QUIT"))]) == writes


@pytest.mark.parametrize("provider_id", ["x" * 300, "<" + "y" * 1000 + "@api.example.com>"])
def test_a_provider_id_longer_than_its_column_is_kept_cut_and_the_copy_is_sent(provider_id):
    """A provider answers the ids it likes: one longer than the column must not fail the
    batch's record (on PostgreSQL, every copy of the batch would be sent again at the end
    of its lease, and again)."""
    from mmooc.mailer.transports import SENT

    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [Recipient("a@example.org"), Recipient("b@example.org")])
    jobs = {j.id: j for j in engine.claim(10)}
    first = min(jobs)
    engine.record([Result(i, SENT, provider_id=provider_id if i == first else "pm-2") for i in jobs], jobs,
                  max_attempts=5)
    rows = {d.pk: d for d in Delivery.objects.filter(pk__in=jobs)}
    assert {d.status for d in rows.values()} == {Delivery.SENT}
    assert rows[first].provider_id == provider_id[:255]
