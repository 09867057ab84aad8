"""Wake-ups between processes on SQLite: a datagram to every engine's socket in the data folder.

The socket is reached by its path, as from another process on the machine.
"""

from __future__ import annotations

import os
import socket

import pytest

from mmooc.mailer import outbox, wakeups
from mmooc.mailer.models import Message
from mmooc.mailer.outbox import Recipient

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener(settings, tmp_path):
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("PostgreSQL engines are woken by NOTIFY (test_idle.py)")
    settings.DATA_DIR = tmp_path
    found = wakeups.Listener()
    found.open()
    yield found
    found.close()


def test_an_engine_listens_on_a_socket_in_the_data_folder(listener, tmp_path):
    assert listener.listening
    assert os.listdir(tmp_path / "wake") == [os.path.basename(listener.path)]


def test_a_poke_wakes_it_once(listener):
    wakeups.poke()
    wakeups.poke()
    assert listener.wait(10)
    assert not listener.wait(0.01)  # both datagrams consumed by the one wake-up


def test_nothing_wakes_it_without_a_poke(listener):
    assert not listener.wait(0.05)


def test_a_committed_enqueue_wakes_it(listener):
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [Recipient("a@example.org")])
    assert listener.wait(10)


def test_the_socket_of_an_engine_that_died_is_removed(listener, tmp_path):
    dead = str(tmp_path / "wake" / "1-deadbeef")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(dead)
    sock.close()  # its file stays, as after a kill
    wakeups.poke()
    assert not os.path.exists(dead)
    assert listener.wait(10)  # the living one was still woken


def test_a_closed_listener_leaves_no_socket(settings, tmp_path):
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("SQLite only")
    settings.DATA_DIR = tmp_path
    listener = wakeups.Listener()
    listener.open()
    listener.close()
    assert os.listdir(tmp_path / "wake") == []


def test_a_data_folder_too_deep_for_a_socket_falls_back_to_polling(settings, tmp_path, caplog):
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("SQLite only")
    settings.DATA_DIR = tmp_path / ("d" * 120)
    listener = wakeups.Listener()
    try:
        listener.open()
        assert not listener.listening
        assert "polling" in caplog.text
        assert not listener.wait(0.01)
    finally:
        listener.close()


def test_a_wake_in_this_process_reaches_its_listeners(listener):
    from mmooc.mailer import engine

    engine.wake()
    assert listener.wait(10)
    engine._woken.clear()
