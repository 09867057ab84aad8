from __future__ import annotations

import io
import os
import signal
import smtplib
import socket
import threading

import pytest
from django.core.management import CommandError, call_command

from mmooc import testing
from mmooc.lists import socketmap
from mmooc.lists.tests.conftest import make_group

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_serves_lmtp_and_socketmap_until_sigterm(cohort, caplog):
    caplog.set_level("INFO", logger="mmooc")
    group = make_group(cohort, 1)
    port, lookups = testing.free_port(), testing.free_port()
    greeting: list[int] = []
    answers: list[bytes] = []

    def client() -> None:
        # Each port is waited for on its own: the two listeners open one after the other.
        for _ in range(200):  # until the LMTP server listens
            try:
                with smtplib.LMTP("127.0.0.1", port, timeout=10) as conn:
                    greeting.append(conn.ehlo()[0])
                break
            except ConnectionRefusedError:
                threading.Event().wait(0.05)
        for _ in range(200):  # until the socketmap server listens
            try:
                with socket.create_connection(("127.0.0.1", lookups), timeout=10) as conn:
                    conn.sendall(socketmap.netstring(f"recipient {group.address}".encode()))
                    answers.append(conn.recv(100))
                break
            except ConnectionRefusedError:
                threading.Event().wait(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=client, daemon=True).start()
    out = io.StringIO()
    call_command("lmtp", "--port", str(port), "--socketmap-port", str(lookups), stdout=out)
    assert greeting == [250]
    assert answers == [b"8:OK group,"]
    assert f"Listening for LMTP on 127.0.0.1:{port}" in out.getvalue()
    assert f"socketmap on 127.0.0.1:{lookups}" in out.getvalue()
    assert "LMTP server stopped." in out.getvalue()
    [start] = [r for r in caplog.records if r.name == "mmooc.start"]
    assert start.getMessage().startswith("mmooc lmtp starting")
    assert (start.command, start.listen, start.max_post) == ("lmtp", f"127.0.0.1:{port}", "10 MB")


def test_it_explains_a_port_already_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(CommandError, match="Cannot listen for LMTP on 127.0.0.1:.*in use"):
            call_command("lmtp", "--port", str(busy.getsockname()[1]), "--socketmap-port", "0")


def test_it_explains_a_socketmap_port_already_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(CommandError, match="Cannot listen for socketmap lookups on 127.0.0.1:.*in use"):
            call_command("lmtp", "--port", str(testing.free_port()), "--socketmap-port",
                         str(busy.getsockname()[1]))
