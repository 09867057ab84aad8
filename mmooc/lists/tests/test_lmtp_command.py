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

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_serves_lmtp_until_sigterm():
    port = testing.free_port()
    greeting: list[int] = []

    def client() -> None:
        for _ in range(200):  # until the server listens
            try:
                with smtplib.LMTP("127.0.0.1", port, timeout=10) as conn:
                    greeting.append(conn.ehlo()[0])
                break
            except ConnectionRefusedError:
                threading.Event().wait(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=client, daemon=True).start()
    out = io.StringIO()
    call_command("lmtp", "--port", str(port), stdout=out)
    assert greeting == [250]
    assert "Listening for LMTP on 127.0.0.1:" in out.getvalue()
    assert "LMTP server stopped." in out.getvalue()


def test_it_explains_a_port_already_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(CommandError, match="Cannot listen for LMTP on 127.0.0.1:.*in use"):
            call_command("lmtp", "--port", str(busy.getsockname()[1]))
