"""The LMTP server Postfix hands group mail to (MAIL_RULES 50–52).

    server = start("127.0.0.1", 8024)   # used by `mmooc lmtp` and `mmooc serve`
    …
    server.stop()

aiosmtpd's LMTP protocol answers LHLO; after DATA the handler gives one reply per
accepted recipient, in order, each the reply of `relay.receive`. Our size limit is
enforced there, per recipient: aiosmtpd's own limits (size, line length) answer with a
single reply whatever the number of recipients, so they are set well above ours. The
relay runs in worker threads (it uses the database); the event loop only talks.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from django.conf import settings
from django.db import close_old_connections, connection

from mmooc.groups.models import StudyGroup
from mmooc.lists import recipients, relay

log = logging.getLogger("mmooc.lists")

# aiosmtpd's own ceilings: far above ours (the largest post held), so our per-recipient replies decide.
PROTOCOL_LIMIT = 2 * relay.MAX_HELD_POST_BYTES + 1024 * 1024
IDLE_TIMEOUT = 300


class _LMTP(LMTP):
    # A line longer than this makes aiosmtpd give one reply for all recipients: let the
    # relay see such messages and answer each recipient itself.
    line_length_limit = PROTOCOL_LIMIT


# Seconds between checks of a pool thread's server connection (a `SELECT 1` round trip each):
# checked before every RCPT and DATA, it cost more than a post's own queries. A connection
# that failed meanwhile is replaced at once, and a post that meets a dead one is refused
# with a 451, which Postfix retries.
CHECK_EVERY = 1.0
_checked = threading.local()


def _in_worker(fn: Any, *args: Any) -> Any:
    """Database work in a pool thread, on the thread's kept connection.

    A server connection past its age or broken is replaced first; an SQLite file does not
    go stale, and reopening it for every message would cost more than the message.
    """
    if connection.vendor != "sqlite":
        now = time.monotonic()
        if connection.errors_occurred or now - getattr(_checked, "at", -CHECK_EVERY) >= CHECK_EVERY:
            close_old_connections()
            _checked.at = now
    return fn(*args)


class RelayHandler:
    """aiosmtpd handler: recipients checked at RCPT, the message relayed at DATA."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, _in_worker, fn, *args)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        size = next((o.partition("=")[2] for o in mail_options if o.upper().startswith("SIZE=")), "")
        # Over the limit but not the ceiling: a group post is held for staff, so only the ceiling refuses here.
        if size.isdigit() and int(size) > relay.MAX_HELD_POST_BYTES:
            return f"552 5.3.4 Message too big: group posts are limited to {relay.max_post_mb()}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            known = await self._run(recipients.known, address)
        except Exception:
            log.exception("lmtp: could not look up %s", address)
            return "451 4.3.0 Temporary problem on our side; please try again later"
        if not known:
            return f"550 5.1.1 No such group address: {address}"
        if isinstance(known, StudyGroup):
            # The relay needs the group again at DATA, milliseconds later: not a second query.
            _groups(envelope)[address.strip().strip("<>")] = known
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recipients = list(envelope.rcpt_tos)
        try:
            outcomes = await self._run(partial(relay.receive, groups=_groups(envelope)),
                                       envelope.original_content, envelope.mail_from or "", recipients)
            replies = [o.reply for o in outcomes]
        except Exception:
            log.exception("lmtp: could not relay a message for %s", ", ".join(recipients))
            replies = ["451 4.3.0 Temporary problem on our side; please try again later"] * len(recipients)
        return "\r\n".join(replies)


def _groups(envelope: Any) -> dict[str, StudyGroup]:
    """The groups found at RCPT for this transaction (aiosmtpd makes a new envelope for each)."""
    if not hasattr(envelope, "mmooc_groups"):
        envelope.mmooc_groups = {}
    return envelope.mmooc_groups


class LMTPServer:
    """A running LMTP server; `stop()` closes it and its worker threads."""

    def __init__(self, host: str, port: int, workers: int) -> None:
        self.workers = workers
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lmtp-relay")
        self.controller = _Controller(RelayHandler(self.executor), hostname=host, port=port,
                                      server_hostname=settings.LIST_DOMAIN, data_size_limit=PROTOCOL_LIMIT,
                                      timeout=IDLE_TIMEOUT, ident="mmooc LMTP")
        self.host, self.port = host, port

    def start(self) -> LMTPServer:
        try:
            _check_free(self.host, self.port)
            self.controller.start()
        except BaseException:
            self.executor.shutdown(wait=False)
            raise
        log.info("lmtp: listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        self.controller.stop()
        # Each worker thread closes its own database connection: one task per thread, held
        # at a barrier so no thread takes two.
        barrier = threading.Barrier(self.workers)
        done = [self.executor.submit(_close_connection, barrier) for _ in range(self.workers)]
        for future in done:
            future.result()
        self.executor.shutdown(wait=True)


def _check_free(host: str, port: int) -> None:
    """OSError at once for a port in use (aiosmtpd would only say so after its start-up timeout)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _close_connection(barrier: threading.Barrier) -> None:
    barrier.wait(timeout=10)
    connection.close()


class _Controller(Controller):
    def factory(self) -> _LMTP:
        return _LMTP(self.handler, **self.SMTP_kwargs)


def start(host: str | None = None, port: int | None = None) -> LMTPServer:
    """Start the LMTP server in a background thread (defaults: settings.LMTP_HOST/LMTP_PORT)."""
    host = settings.LMTP_HOST if host is None else host
    port = settings.LMTP_PORT if port is None else port
    # SQLite takes one writer at a time: more relay threads would only wait on its lock.
    # On PostgreSQL two relay while a third message is read; each thread keeps a server
    # connection (a PostgreSQL process of its own), so more would cost memory, not speed.
    workers = 1 if connection.vendor == "sqlite" else 2
    return LMTPServer(host, port, workers).start()
