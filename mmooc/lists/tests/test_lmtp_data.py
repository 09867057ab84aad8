"""The LMTP server's DATA reader gives the message aiosmtpd's line-by-line reading gives."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from mmooc.lists.lmtp import _read_data


def on_the_wire(lines: list[bytes]) -> bytes:
    """What a client sends after DATA: each line dot-stuffed, then the lone dot."""
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines) + b".\r\n"


def line_by_line(wire: bytes) -> bytes:
    """aiosmtpd's reading: lines up to the lone dot, each line's first dot removed."""
    lines = []
    while True:
        end = wire.index(b"\r\n") + 2
        line, wire = wire[:end], wire[end:]
        if line == b".\r\n":
            return b"".join(line[1:] if line.startswith(b".") else line for line in lines)
        lines.append(line)


def read(wire: bytes, limit: int | None = None) -> tuple[bytes | None, bytes]:
    """The data read, and what the reader left for the commands that follow."""
    async def run() -> tuple[bytes | None, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(wire + b"QUIT\r\n")
        reader.feed_eof()
        return await _read_data(reader, limit), await reader.read()
    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever loop other tests left in this thread
        return thread.submit(asyncio.run, run()).result()


@pytest.mark.parametrize("lines", [
    [], [b""], [b"."], [b".."], [b"Hello."], [b"a", b".", b"b"], [b".hidden", b"end."],
    [b"Subject: x", b"", b"Sentence one.", b"..", b"last line."], [b"a\nb.", b"c\r"],
])
def test_it_reads_what_aiosmtpd_reads(lines):
    wire = on_the_wire(lines)
    assert read(wire) == (line_by_line(wire), b"QUIT\r\n")


def test_random_messages_read_the_same():
    rng = random.Random(7)
    pieces = [b".", b"a", b"\r", b"\n", b" ", b"..", b"x."]
    for _ in range(2000):
        lines = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))).replace(b"\r\n", b"")
                 for _ in range(rng.randint(0, 5))]
        wire = on_the_wire([line for line in lines if not line.endswith(b"\r")])
        assert read(wire) == (line_by_line(wire), b"QUIT\r\n")


def test_a_message_over_the_limit_is_read_to_its_end_and_refused():
    assert read(on_the_wire([b"x" * 60] * 10), limit=100) == (None, b"QUIT\r\n")
