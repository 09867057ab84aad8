"""An idle engine finds rows queued by another process within a poll, and does not spin.

PostgreSQL, for real concurrency: the SQLite test database lives in memory with a shared
cache, where a reading thread locks tables that a file in WAL mode would not.
"""

from __future__ import annotations

import threading
import time

import pytest

from mmooc.mailer import engine, outbox, wakeups
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def queue(address: str) -> Message:
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [Recipient(address)])
    return msg


@pytest.fixture
def idle_engine(smtp_sink, monkeypatch):
    """An engine in a thread that, without polling, would look again only after a minute;
    nothing queued here wakes it in-process, as nothing queued by another process would."""
    monkeypatch.setattr(engine, "IDLE_WAIT", 60.0)
    monkeypatch.setattr(outbox, "_wake_engine", lambda: None)
    claims = []
    real_claim = engine.claim
    monkeypatch.setattr(engine, "claim", lambda *a, **kw: claims.append(1) or real_claim(*a, **kw))
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, args=(stop,), kwargs={"engine": engine.Engine(use_lock=False)})
    thread.start()
    yield claims
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def wait_until(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_an_idle_engine_sends_what_another_process_queued_long_before_its_full_look(idle_engine, smtp_server):
    queue("first@example.org")
    assert wait_until(lambda: len(smtp_server.received) == 1)
    time.sleep(0.3)  # idle now, with a minute to its next full look
    msg = queue("second@example.org")
    assert wait_until(lambda: len(smtp_server.received) == 2, seconds=20)  # a poll found it
    # The engine records the outcome just after the server accepted the copy.
    assert wait_until(lambda: msg.deliveries.get().status == Delivery.SENT)


def test_a_paused_message_does_not_keep_an_idle_engine_claiming(idle_engine):
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Later", body="Hi")
    outbox.pause(msg)
    outbox.enqueue(msg, [Recipient("later@example.org")])
    time.sleep(0.2)
    before = len(idle_engine)
    time.sleep(1.0)  # twenty polls
    assert len(idle_engine) == before  # its due row is not the engine's to claim: no full look
    assert msg.deliveries.get().status == Delivery.QUEUED


@pytest.fixture
def notify_only(idle_engine, settings):
    """The idle engine with its quick looks an hour apart: only a NOTIFY can wake it in time."""
    settings.MAIL_POLL = 3600.0
    return idle_engine


def listen_backends() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND query = %s AND pid <> pg_backend_pid()", [f"LISTEN {wakeups.CHANNEL}"])
        return [row[0] for row in cursor.fetchall()]


def test_an_idle_engine_is_woken_by_the_notify_of_a_commit_on_another_connection(notify_only, smtp_server):
    assert wait_until(lambda: len(listen_backends()) == 1)
    time.sleep(0.3)  # idle, with a minute to its next full look and an hour to its next quick one
    msg = queue("woken@example.org")
    assert wait_until(lambda: len(smtp_server.received) == 1, seconds=20)
    assert wait_until(lambda: msg.deliveries.get().status == Delivery.SENT)


def test_a_row_written_by_any_statement_wakes_the_engine(notify_only, smtp_server, monkeypatch):
    """The NOTIFY comes from the outbox table's trigger (mailer migration 0015), not from
    the writer: a statement that does not go through the outbox wakes the engine too."""
    from django.db import connection, transaction

    monkeypatch.setattr(wakeups, "notify", lambda: pytest.fail("the outbox sent a NOTIFY of its own"))
    assert wait_until(lambda: len(listen_backends()) == 1)
    time.sleep(0.3)  # idle, with a minute to its next full look and an hour to its next quick one
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO mailer_delivery (message_id, recipient, context, ref, status, not_before, "
                       "attempts, rfc_message_id, provider_id, last_error, updated_at) "
                       "VALUES (%s, 'raw@example.org', '{}', '', 'queued', now(), 0, '', '', '', now())", [msg.pk])
    assert wait_until(lambda: len(smtp_server.received) == 1, seconds=20)
    queue("outbox@example.org")  # and through the outbox, with wakeups.notify refusing
    assert wait_until(lambda: len(smtp_server.received) == 2, seconds=20)


def test_a_resumed_message_wakes_the_engine(notify_only, smtp_server):
    """Rows made due without being written need the outbox's own NOTIFY."""
    assert wait_until(lambda: len(listen_backends()) == 1)
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Later", body="Hi")
    outbox.pause(msg)
    outbox.enqueue(msg, [Recipient("resumed@example.org")])
    time.sleep(0.5)  # the insert's NOTIFY came and went: the message was paused
    assert smtp_server.received == []
    outbox.resume(msg)
    assert wait_until(lambda: len(smtp_server.received) == 1, seconds=20)


def test_a_rolled_back_enqueue_wakes_no_one(notify_only, smtp_server):
    from django.db import transaction

    assert wait_until(lambda: len(listen_backends()) == 1)
    time.sleep(0.3)
    before = len(notify_only)
    with pytest.raises(RuntimeError), transaction.atomic():
        queue("never@example.org")
        raise RuntimeError("rolled back")
    time.sleep(0.5)
    assert len(notify_only) == before  # no NOTIFY was delivered: no look


def test_a_lost_listen_connection_is_opened_again(notify_only, smtp_server, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(wakeups, "RECONNECT_EVERY", 0.1)
    assert wait_until(lambda: len(listen_backends()) == 1)
    old = listen_backends()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [old])
    assert wait_until(lambda: listen_backends() not in ([], [old]))
    time.sleep(0.3)
    msg = queue("again@example.org")
    assert wait_until(lambda: len(smtp_server.received) == 1, seconds=20)
    assert wait_until(lambda: msg.deliveries.get().status == Delivery.SENT)


def test_without_a_listen_connection_the_engine_still_finds_new_mail_by_polling(smtp_sink, smtp_server,
                                                                                 monkeypatch, settings):
    def refused(self):
        raise OSError("could not connect")

    monkeypatch.setattr(wakeups.Listener, "_listen_postgres", refused)
    monkeypatch.setattr(engine, "IDLE_WAIT", 60.0)
    monkeypatch.setattr(outbox, "_wake_engine", lambda: None)
    settings.MAIL_POLL = 0.1
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, args=(stop,), kwargs={"engine": engine.Engine(use_lock=False)})
    thread.start()
    try:
        time.sleep(0.3)
        assert listen_backends() == []
        msg = queue("polled@example.org")
        assert wait_until(lambda: len(smtp_server.received) == 1, seconds=20)  # a quick look found it
        assert wait_until(lambda: msg.deliveries.get().status == Delivery.SENT)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
