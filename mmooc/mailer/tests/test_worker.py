from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.utils import timezone

from mmooc.lib import startup
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient
from mmooc.operations import counters

ROOT = Path(__file__).resolve().parents[3]
MMOOC = str(Path(sys.executable).with_name("mmooc"))
WAIT = 60  # seconds: the most a worker process may take here before the test fails


# Seconds the other workers may be held up by the open transaction of a machine that vanished.
STALL = 30


def queue(n: int) -> Message:
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello {{ name }}", body="Hi {{ name }}")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {"name": f"L{i}"}) for i in range(n)])
    return msg


def worker_env(smtp_server) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    # Every process on PostgreSQL signs with one key, as in production (operations.E001).
    return {**os.environ, "DATABASE_URL": url, "MMOOC_EMAIL_URL": smtp_server.url, "MMOOC_MAIL_RATE": "0",
            "SECRET_KEY": settings.SECRET_KEY}


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([MMOOC, "worker", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.django_db
def test_it_sends_what_is_due_with_once(smtp_sink):
    queue(3)
    call_command("worker", "--once", verbosity=0)
    assert len(smtp_sink.received) == 3


@pytest.mark.django_db
def test_it_refuses_a_bad_batch_size():
    with pytest.raises(CommandError, match="--batch"):
        call_command("worker", "--once", "--batch", "0")


@pytest.mark.django_db
def test_a_second_worker_on_sqlite_refuses_to_start_with_a_clear_message():
    if connection.vendor != "sqlite":
        pytest.skip("several workers may run on PostgreSQL")
    engine.acquire_lock(f"{os.uname().nodename}:{os.getpid()}:other")
    with pytest.raises(CommandError, match="SQLite allows one engine"):
        call_command("worker", "--once")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_postgresql_send_each_delivery_once(smtp_server):
    msg = queue(300)
    env = worker_env(smtp_server)
    workers = [start_worker(env, "--once", "--batch", "10") for _ in range(2)]
    for w in workers:
        assert w.wait(WAIT) == 0, w.stderr.read()
    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(counts) == 300 and set(counts.values()) == {1}
    assert outbox.progress(msg)[Delivery.SENT] == 300


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_stops_cleanly_on_sigterm(smtp_server):
    queue(5)
    worker = start_worker(worker_env(smtp_server))
    wait_for(lambda: len(smtp_server.received) == 5, "the worker to send")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(WAIT) == 0
    assert "Processed 5 deliveries" in worker.stdout.read()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing(smtp_server):
    msg = queue(100)
    release = threading.Event()

    def reply(envelope):
        if len(smtp_server.received) >= 25:
            release.wait(WAIT)  # hold the worker mid-batch until it has been killed
        return None

    smtp_server.reply = reply
    env = worker_env(smtp_server)
    first = start_worker(env, "--batch", "10")
    wait_for(lambda: len(smtp_server.received) >= 25, "the first worker to be mid-batch")
    in_flight = set(msg.deliveries.filter(status=Delivery.SENDING).values_list("recipient", flat=True))
    first.send_signal(signal.SIGKILL)
    first.wait(WAIT)
    release.set()
    # The lease of the dead worker's batch runs out.
    msg.deliveries.filter(status=Delivery.SENDING).update(lease_until=timezone.now() - timedelta(seconds=1))
    second = start_worker(env, "--once", "--batch", "10")
    assert second.wait(WAIT) == 0, second.stderr.read()

    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(counts) == 100 and outbox.progress(msg)[Delivery.SENT] == 100
    duplicates = {rcpt for rcpt, n in counts.items() if n > 1}
    assert duplicates <= in_flight
    for rcpt in duplicates:
        assert len({r.message["Message-ID"] for r in smtp_server.messages_to(rcpt)}) == 1


ENQUEUE = """
from mmooc.mailer import outbox
from mmooc.mailer.models import Message
msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello {{ name }}", body="Hi {{ name }}")
outbox.enqueue(msg, [outbox.Recipient(f"l{i}@example.org", {"name": f"L{i}"}) for i in range(100)])
"""


def test_a_worker_killed_mid_batch_on_sqlite_loses_nothing_and_a_new_one_takes_over(smtp_server, tmp_path):
    import sqlite3

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "MMOOC_DATA_DIR": str(tmp_path), "MMOOC_EMAIL_URL": smtp_server.url, "MMOOC_MAIL_RATE": "0"}
    for command in (["migrate", "-v", "0"], ["shell", "-c", ENQUEUE]):
        subprocess.run([MMOOC, *command], env=env, cwd=ROOT, check=True, timeout=WAIT)
    db = sqlite3.connect(tmp_path / "db.sqlite3", timeout=WAIT)
    release = threading.Event()

    def reply(envelope):
        if len(smtp_server.received) >= 25:
            release.wait(WAIT)  # hold the worker mid-batch until it has been killed
        return None

    smtp_server.reply = reply
    first = start_worker(env, "--batch", "10")
    wait_for(lambda: len(smtp_server.received) >= 25, "the first worker to be mid-batch")
    in_flight = {r for (r,) in db.execute("SELECT recipient FROM mailer_delivery WHERE status = 'sending'")}
    first.send_signal(signal.SIGKILL)
    first.wait(WAIT)
    release.set()
    with db:  # the lease of the dead worker's batch runs out
        db.execute("UPDATE mailer_delivery SET lease_until = '2000-01-01 00:00:00' WHERE status = 'sending'")
    second = start_worker(env, "--once", "--batch", "10")
    assert second.wait(WAIT) == 0, second.stderr.read()

    counts = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(counts) == 100
    assert db.execute("SELECT count(*) FROM mailer_delivery WHERE status = 'sent'").fetchone() == (100,)
    duplicates = {rcpt for rcpt, n in counts.items() if n > 1}
    assert duplicates <= in_flight
    for rcpt in duplicates:
        assert len({r.message["Message-ID"] for r in smtp_server.messages_to(rcpt)}) == 1


# --- a worker killed again and again, at the default batch size ------------------------------

KILLS = 4
COPIES = 4000
REPEATED_PER_KILL = 50  # at most: two chunks of 25 sent and not yet recorded (engine.CHUNK)


def enqueue_script(n: int) -> str:
    return ENQUEUE.replace("range(100)", f"range({n})")


def killed_again_and_again(smtp_server, env: dict[str, str], statuses, *args: str) -> Counter:
    """Start a worker, kill it with SIGKILL once it has sent a few hundred more copies, KILLS
    times; then let one finish. Returns how often each (Message-ID, recipient) arrived."""
    for _ in range(KILLS):
        before = len(smtp_server.received)
        worker = start_worker(env, *args)
        try:
            wait_for(lambda before=before: len(smtp_server.received) >= before + 300, "the worker to send")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(WAIT)
    assert len(smtp_server.received) < COPIES, "every copy went out before the last kill"
    last = start_worker(env, *args)
    try:
        wait_for(lambda: statuses().get(Delivery.SENT) == COPIES, "the last worker to send everything")
    finally:
        last.send_signal(signal.SIGTERM)
        try:
            last.wait(WAIT)
        except subprocess.TimeoutExpired:
            last.kill()
            last.wait()
    assert last.returncode == 0, last.stderr.read()
    return Counter((r.message["Message-ID"], r.rcpt_tos[0]) for r in smtp_server.received)


def assert_at_most_50_repeated_per_kill(copies: Counter, statuses: dict[str, int]) -> None:
    assert statuses == {Delivery.SENT: COPIES}  # nothing lost, nothing left in `sending`
    assert len({rcpt for _, rcpt in copies}) == len(copies) == COPIES  # one Message-ID per copy
    repeated = sum(copies.values()) - COPIES
    print(f"{repeated} copies sent again after {KILLS} kills")
    assert repeated <= KILLS * REPEATED_PER_KILL, f"{repeated} copies sent again after {KILLS} kills"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_again_and_again_on_postgresql_repeats_at_most_50_copies_per_kill(smtp_server):
    msg = queue(COPIES)

    def statuses() -> dict[str, int]:
        return {s: n for s, n in Counter(msg.deliveries.values_list("status", flat=True)).items()}

    # A short lease, so the next worker takes the killed one's rows back within the test.
    copies = killed_again_and_again(smtp_server, worker_env(smtp_server), statuses, "--lease", "2")
    assert_at_most_50_repeated_per_kill(copies, statuses())


def test_a_worker_killed_again_and_again_on_sqlite_repeats_at_most_50_copies_per_kill(smtp_server, tmp_path):
    import sqlite3

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "MMOOC_DATA_DIR": str(tmp_path), "MMOOC_EMAIL_URL": smtp_server.url, "MMOOC_MAIL_RATE": "0"}
    for command in (["migrate", "-v", "0"], ["shell", "-c", enqueue_script(COPIES)]):
        subprocess.run([MMOOC, *command], env=env, cwd=ROOT, check=True, timeout=WAIT)
    db = sqlite3.connect(tmp_path / "db.sqlite3", timeout=WAIT)

    def statuses() -> dict[str, int]:
        return dict(db.execute("SELECT status, count(*) FROM mailer_delivery GROUP BY status").fetchall())

    # No lease to wait out: the next worker takes the SQLite lock of the dead one, and its rows.
    copies = killed_again_and_again(smtp_server, env, statuses)
    assert_at_most_50_repeated_per_kill(copies, statuses())


def hold_counters_open_like_a_vanished_worker(bounded: bool = True):
    """A session opened as a worker opens its own, that has written the delivery counters in a
    transaction and then says nothing more: a worker whose machine lost power or its network
    while it recorded a batch (its last upsert took one of these rows; here all, so that every
    record of the others meets it at once instead of within a few)."""
    dead = connections.create_connection("default")
    dead.connect()
    if bounded:  # as `mmooc worker` bounds each of its sessions (lib.startup.bound_idle_transactions)
        startup._bound_session(sender=type(dead), connection=dead)
    dead.set_autocommit(False)
    with dead.cursor() as cursor:
        for shard in range(counters.SHARDS):
            cursor.execute("INSERT INTO operations_counter (name, label, shard, value) VALUES ('deliveries', 'sent', "
                           "%s, 0) ON CONFLICT (name, label, shard) DO UPDATE SET value = operations_counter.value",
                           [shard])
    return dead


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_vanished_mid_transaction_holds_up_the_others_for_at_most_30_seconds(smtp_server, settings):
    settings.SERVICE_IDLE_TRANSACTION_SECONDS = 5  # the server ends the dead session after 5 s idle
    msg = queue(50)
    dead = hold_counters_open_like_a_vanished_worker()
    worker = start_worker(worker_env(smtp_server), "--once", "--batch", "10")
    try:
        worker.wait(STALL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker was still held up after {STALL} s by the vanished worker's transaction")
    finally:
        worker.kill()
        worker.wait()
        dead.close()
    assert outbox.progress(msg)[Delivery.SENT] == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_services_bound_their_sessions_idle_in_a_transaction(settings):
    """`mmooc worker` and `mmooc lmtp` call bound_idle_transactions() at start: every session
    they open, and the one already open, ends when idle in a transaction for the setting."""
    settings.SERVICE_IDLE_TRANSACTION_SECONDS = 7
    from django.db.backends.signals import connection_created

    def shown(conn) -> tuple:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_setting('idle_in_transaction_session_timeout'), "
                           "current_setting('tcp_keepalives_idle')")
            return cursor.fetchone()

    # A test before may have run a service's command in this process: start unbounded.
    connection_created.disconnect(dispatch_uid="mmooc-bound-idle-transactions")
    connection.close()
    connection.ensure_connection()
    assert shown(connection)[0] == "0"  # PostgreSQL's default: no bound
    startup.bound_idle_transactions()
    try:
        assert shown(connection)[0] == "7s"
        later = connections.create_connection("default")
        later.connect()
        assert shown(later) == ("7s", "30")
        later.close()
    finally:
        connection_created.disconnect(dispatch_uid="mmooc-bound-idle-transactions")
        with connection.cursor() as cursor:
            cursor.execute("RESET idle_in_transaction_session_timeout")


def test_the_services_call_the_bound_at_start():
    for command in ("mmooc/lists/management/commands/lmtp.py", "mmooc/mailer/management/commands/worker.py"):
        assert "bound_idle_transactions()" in (ROOT / command).read_text(), command
