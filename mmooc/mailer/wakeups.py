"""Waking idle delivery engines, in any process, the moment rows are queued.

    notify()        inside a transaction that makes rows due without writing them (a
                    message resumed): on PostgreSQL a NOTIFY, which the server delivers to
                    every listening engine when (and only if) the transaction commits.
                    Rows inserted into the outbox send it themselves (the trigger
                    mailer_delivery_queued, migration mailer 0015): no statement of its own
    poke()          after that commit, on SQLite: one datagram to every engine's socket in
                    MMOOC_DATA_DIR/wake/ (engines on this machine; SQLite has no other kind)
    wake_local()    engines of this process (their self-pipe)
    Listener()      what an idle engine waits on: listener.wait(seconds) -> True when woken

Wake-ups only shorten the wait: an engine still looks for due rows every MMOOC_MAIL_POLL
seconds, so a lost NOTIFY, a dropped LISTEN connection or a missing socket folder delay
mail, never lose it. A dropped LISTEN connection is opened again at the next wait (at most
every RECONNECT_EVERY seconds).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

log = logging.getLogger("mmooc.mailer")

CHANNEL = "mmooc_outbox"  # also written in the trigger of migration mailer 0015
RECONNECT_EVERY = 5.0  # seconds between attempts to open a lost LISTEN connection
SOCKET_DIR = "wake"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux; a longer path cannot be bound

_pipes: set[int] = set()  # write ends of this process's listeners
_pipes_lock = threading.Lock()


def notify() -> None:
    """Queue a wake-up for every listening engine, sent by PostgreSQL when this transaction
    commits (several in one transaction are sent as one). Nothing on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")


def socket_dir() -> Path:
    return Path(settings.DATA_DIR) / SOCKET_DIR


def poke() -> None:
    """One datagram to each engine's socket on this machine (SQLite). Sockets nobody holds
    any more (an engine that was killed) are removed; a full socket is already woken."""
    if connection.vendor == "postgresql":
        return
    try:
        names = os.listdir(socket_dir())
    except OSError:
        return
    if not names:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for name in names:
            path = str(socket_dir() / name)
            try:
                sock.sendto(b"!", path)
            except (ConnectionRefusedError, FileNotFoundError):
                _unlink(path)
            except OSError:
                pass  # full (woken already) or not a socket


def wake_local() -> None:
    with _pipes_lock:  # held while writing: a listener closes its pipe only under it
        for fd in _pipes:
            try:
                os.write(fd, b"!")
            except OSError:
                pass  # full: woken already


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Listener:
    """The wake-up channels of one engine: PostgreSQL LISTEN on a connection of its own
    (or a datagram socket on SQLite), and a self-pipe for wake-ups from this process."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.pg: Any = None  # psycopg.Connection while listening
        self.sock: socket.socket | None = None
        self.path = ""
        self.retry_at = 0.0
        self.read_end, self.write_end = os.pipe()
        os.set_blocking(self.read_end, False)
        os.set_blocking(self.write_end, False)
        with _pipes_lock:
            _pipes.add(self.write_end)

    @property
    def listening(self) -> bool:
        return self.pg is not None or self.sock is not None

    def open(self) -> None:
        """Start listening; on failure log it and go on (polling), trying again later."""
        if self.listening or time.monotonic() < self.retry_at:
            return
        self.retry_at = time.monotonic() + RECONNECT_EVERY
        try:
            if self.postgres:
                self._listen_postgres()
            else:
                self._bind_socket()
        except Exception as exc:
            log.warning("delivery engine: no wake-ups (%s); finding new mail by polling every %s s",
                        exc, settings.MAIL_POLL)
            self._drop()

    def _listen_postgres(self) -> None:
        import psycopg  # only with PostgreSQL

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        self.pg = psycopg.connect(**params, autocommit=True)
        self.pg.execute(f"LISTEN {CHANNEL}")

    def _bind_socket(self) -> None:
        folder = socket_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = str(folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
        if len(path.encode()) > MAX_SOCKET_PATH:
            raise OSError(f"the socket path {path} is too long; use a shorter MMOOC_DATA_DIR")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(path)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.sock, self.path = sock, path

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True if a wake-up came (all pending ones are consumed)."""
        self.open()
        fds: list[Any] = [self.read_end]
        if self.pg is not None:
            fds.append(self.pg.pgconn.socket)
        elif self.sock is not None:
            fds.append(self.sock)
        try:
            ready, _, _ = select.select(fds, [], [], max(0.0, seconds))
        except (OSError, ValueError):  # a socket closed under us
            self._drop()
            return False
        return self._consume() if ready else False

    def _consume(self) -> bool:
        woken = False
        try:
            while os.read(self.read_end, 4096):
                woken = True
        except BlockingIOError:
            pass
        if self.sock is not None:
            try:
                while self.sock.recv(64):
                    woken = True
            except BlockingIOError:
                pass
            except OSError:
                self._drop()
        if self.pg is not None:
            woken = self._consume_postgres() or woken
        return woken

    def _consume_postgres(self) -> bool:
        pgconn = self.pg.pgconn
        try:
            pgconn.consume_input()
        except Exception as exc:
            log.warning("delivery engine: the LISTEN connection was lost (%s); polling until it is back",
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
            self._drop()
            return True  # look now: wake-ups may have been missed
        woken = False
        while pgconn.notifies() is not None:
            woken = True
        return woken

    def _drop(self) -> None:
        if self.pg is not None:
            try:
                self.pg.close()
            except Exception:
                pass
            self.pg = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            _unlink(self.path)

    def close(self) -> None:
        self._drop()
        with _pipes_lock:
            _pipes.discard(self.write_end)
            os.close(self.read_end)
            os.close(self.write_end)
