"""The SMTP transport's reply reader gives what smtplib's getreply() gives, for every shape of reply."""

from __future__ import annotations

import io
import smtplib

import pytest

from mmooc.mailer.transports import _reply

REPLIES = [
    b"250 2.1.0 Ok\r\n",
    b"354 End data with <CR><LF>.<CR><LF>\r\n",
    b"250-first line\r\n250-second\r\n250 last\r\n",
    b"550 5.1.1 <a@example.org>: Recipient address rejected\r\n",
    b"250\r\n",
    b"ab\r\n",
    b"xyz not a code\r\n",
    b"421-going\r\n421 away\r\n",
]


def connection(data: bytes) -> smtplib.SMTP:
    conn = smtplib.SMTP()
    conn.file = io.BytesIO(data)  # type: ignore[assignment]
    return conn


@pytest.mark.parametrize("data", REPLIES)
def test_it_reads_each_reply_as_smtplib_does(data):
    ours, theirs = connection(data + b"250 next\r\n"), connection(data + b"250 next\r\n")
    assert _reply(ours) == theirs.getreply()
    assert _reply(ours) == theirs.getreply() == (250, b"next")


def test_a_closed_connection_raises_as_smtplib_does():
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _reply(connection(b""))


def test_a_line_too_long_raises_as_smtplib_does():
    with pytest.raises(smtplib.SMTPResponseException):
        _reply(connection(b"250 " + b"x" * 9000 + b"\r\n"))
