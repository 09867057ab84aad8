"""Postfix asks here whether an address of the list domain takes mail (socketmap_table(5)).

    server = start("127.0.0.1", 8026)   # beside the LMTP server: `mmooc lmtp`, `mmooc serve`
    …
    server.stop()

    # main.cf
    relay_recipient_maps = socketmap:inet:127.0.0.1:8026:recipient

Each request is one netstring, `recipient <address>`; each reply one netstring:
`OK <kind>` (a group, the mailer's bounce or unsubscribe address: mmooc.lists.recipients),
`NOTFOUND ` (Postfix refuses the address at RCPT), `TEMP <reason>` (the database could not
answer: Postfix answers 4xx and the sender retries) or `PERM <reason>` (a request we do not
understand; the connection is then closed). Postfix keeps a connection open for many
requests.

The server is exposed to whatever can reach its port, so it trusts nothing: a request
longer than MAX_REQUEST or not a netstring is refused, a client that takes more than
REQUEST_TIMEOUT to send one request or stays idle past IDLE_TIMEOUT is disconnected, and
at most MAX_CONNECTIONS are served at once. The event loop only talks; lookups run in one
thread of their own, on a kept database connection.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection

from mmooc.groups.models import StudyGroup
from mmooc.lists import recipients

log = logging.getLogger("mmooc.lists")

MAP_NAME = "recipient"
MAX_REQUEST = 1024  # bytes: a map name and one address (at most 254 bytes), with room to spare
REQUEST_TIMEOUT = 10.0  # seconds from a request's first byte to its last
IDLE_TIMEOUT = 300.0  # seconds between requests (Postfix closes its own idle connections sooner)
MAX_CONNECTIONS = 256  # Postfix opens one per smtpd process (100 by default)
_LENGTH_DIGITS = len(str(MAX_REQUEST))


class NetstringError(ValueError):
    """A request that is not a netstring we accept; the connection is closed after it."""


def netstring(payload: bytes) -> bytes:
    return b"%d:%s," % (len(payload), payload)


async def read_netstring(reader: asyncio.StreamReader) -> bytes | None:
    """The next request's payload; None when the client closed between requests."""
    first = await asyncio.wait_for(reader.read(1), IDLE_TIMEOUT)
    if not first:
        return None
    async with asyncio.timeout(REQUEST_TIMEOUT):
        digits = first
        while not digits.endswith(b":"):
            if len(digits) > _LENGTH_DIGITS:
                raise NetstringError("request too long")
            byte = await reader.read(1)
            if not byte:
                raise NetstringError("connection closed inside a request")
            digits += byte
        length = _length(digits[:-1])
        try:
            body = await reader.readexactly(length + 1)
        except asyncio.IncompleteReadError:
            raise NetstringError("connection closed inside a request") from None
    if body[-1:] != b",":
        raise NetstringError("netstring not closed by a comma")
    return body[:-1]


def _length(digits: bytes) -> int:
    if not digits.isdigit() or (digits.startswith(b"0") and digits != b"0"):
        raise NetstringError("not a netstring")
    length = int(digits)
    if length > MAX_REQUEST:
        raise NetstringError("request too long")
    return length


def reply_for(request: bytes) -> str:
    """The reply to one request (runs in the lookup thread: it may read the database)."""
    try:
        name, space, key = request.decode("utf-8").partition(" ")
    except UnicodeDecodeError:
        return "NOTFOUND "  # group addresses are ASCII: no such address
    if not space:
        return "PERM expected a map name, a space and a key"
    if name != MAP_NAME:
        return f"PERM unknown map {name[:40]!r}: this server answers {MAP_NAME!r}"
    if connection.vendor != "sqlite":
        close_old_connections()  # a server connection past its age or broken is replaced first
    try:
        found = recipients.known(key)
    except Exception:
        log.exception("socketmap: could not look up %s", key[:254])
        return "TEMP lookup failed; try again later"
    if found is None:
        return "NOTFOUND "
    return "OK group" if isinstance(found, StudyGroup) else f"OK {found}"


class SocketmapServer:
    """A socketmap server on its own event loop thread; `stop()` closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="socketmap-lookup")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="socketmap", daemon=True)
        self.server: asyncio.Server | None = None
        self.clients: set[asyncio.Task[None]] = set()

    def start(self) -> SocketmapServer:
        # The port is opened on the server's own loop, in its thread: the calling thread may
        # be running an event loop of its own.
        self.thread.start()
        opening = asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        try:
            self.server = asyncio.run_coroutine_threadsafe(opening, self.loop).result(timeout=30)
        except BaseException:
            self._end_loop()
            self.executor.shutdown(wait=False)
            raise
        self.port = self.server.sockets[0].getsockname()[1]
        log.info("socketmap: listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=30)
        self._end_loop()
        self.executor.submit(_close_connection).result(timeout=30)  # the lookup thread's own
        self.executor.shutdown(wait=True)

    def _end_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()

    async def _close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.clients):
            task.cancel()
        await asyncio.gather(*self.clients, return_exceptions=True)
        await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self.clients) >= MAX_CONNECTIONS:
            log.warning("socketmap: %s connections open; refused one from %s", MAX_CONNECTIONS,
                        writer.get_extra_info("peername"))
            writer.close()
            return
        self.clients.add(task)
        try:
            await self._converse(reader, writer)
        finally:
            self.clients.discard(task)
            writer.close()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while (request := await read_netstring(reader)) is not None:
                reply = await self.loop.run_in_executor(self.executor, reply_for, request)
                writer.write(netstring(reply.encode()))
                await writer.drain()
                if reply.startswith("PERM"):
                    return
        except NetstringError as exc:
            log.warning("socketmap: refused a request from %s: %s", peer, exc)
            writer.write(netstring(f"PERM {exc}".encode()))
            await _drain_quietly(writer)
        except TimeoutError:
            log.info("socketmap: closed a connection from %s: too slow or idle", peer)
        except (ConnectionError, OSError):
            pass  # the client went away


def _close_connection() -> None:
    connection.close()


async def _drain_quietly(writer: asyncio.StreamWriter) -> None:
    try:
        await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT)
    except (TimeoutError, ConnectionError, OSError):
        pass


def start(host: str | None = None, port: int | None = None) -> SocketmapServer:
    """Start answering (defaults: settings.SOCKETMAP_HOST/SOCKETMAP_PORT); OSError if the port is taken."""
    host = settings.SOCKETMAP_HOST if host is None else host
    port = settings.SOCKETMAP_PORT if port is None else port
    return SocketmapServer(host, port).start()
