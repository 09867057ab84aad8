"""The start-up line of `mmooc worker`, `mmooc lmtp` and `mmooc serve`: what this process
runs with, without a secret in it (no password, key or token; hosts, ports and kinds only).

    log_start("worker", lease=45)
    → mmooc worker starting (pid 4242, mmooc 0.1.0): database postgresql db.example.org:5432/mmooc;
      mail smtp mail.example.org:587 starttls; base URL https://course.example.org; …
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from importlib import metadata
from typing import Any

from django.conf import settings
from django.core.checks import Tags
from django.core.checks.registry import registry
from django.core.management.base import BaseCommand
from django.db import connections
from django.db.backends.signals import connection_created

from mmooc.lib.logs import install_excepthooks

log = logging.getLogger("mmooc.start")


def database() -> str:
    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        return f"sqlite {db['NAME']}"
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    return f"{vendor} {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"


def mail() -> str:
    config = settings.EMAIL_CONFIG
    if config.kind == "smtp":
        return f"smtp {config.host}:{config.port} {config.tls}"
    if config.kind == "anymail":
        return f"anymail {config.provider}"
    return "outbox (kept for /outbox/, nothing sent)"


def summary() -> dict[str, Any]:
    rate = settings.MAIL_RATE_LIMIT
    return {
        "database": database(),
        "mail": mail(),
        "base_url": settings.BASE_URL,
        "list_domain": settings.LIST_DOMAIN,
        "mail_rate": f"{rate:g}/s" if rate > 0 else "unlimited",
        "mail_batch": settings.MAIL_BATCH_SIZE,
        "signup_rate": f"{settings.LEARNER_SIGNUP_RATE}/h per address",
    }


def _version() -> str:
    try:
        return metadata.version("mmooc")
    except metadata.PackageNotFoundError:
        return "unknown"


def log_start(command: str, **more: Any) -> None:
    """Log what this process runs with, once, at start; uncaught errors are logged from now on."""
    install_excepthooks()
    fields = {**summary(), **more}
    words = "; ".join(f"{key.replace('_', ' ')} {value}" for key, value in fields.items())
    log.info("mmooc %s starting (pid %s, mmooc %s): %s", command, os.getpid(), _version(), words,
             extra={"command": command, "pid": os.getpid(), "version": _version(), **fields})


def freeze() -> None:
    """Call once started: what exists now (modules, Django's registries, settings) lives as long
    as the process, so the garbage collector stops walking it. Its full collections then look
    only at what the service makes while it runs, not at the objects made by the imports.
    Not from a thread of another program (a test running the command): that program's
    objects are its own business."""
    if threading.current_thread() is not threading.main_thread():
        return
    gc.collect()
    gc.freeze()


class PagelessCommand(BaseCommand):
    """`mmooc lmtp` and `mmooc worker`: they serve no page, so their start-up checks leave out
    those about URLs (tagged `urls`), which import the whole URL configuration, every view
    and form, for nothing (20–30 MB in each process). `mmooc serve` and `mmooc check` run
    them all. The links their mail names come from mmooc.lib.mailpaths."""

    def check(self, *args: Any, **kwargs: Any) -> None:
        kept = registry.registered_checks
        registry.registered_checks = {c for c in kept if Tags.urls not in getattr(c, "tags", ())}
        try:
            super().check(*args, **kwargs)
        finally:
            registry.registered_checks = kept


def bound_idle_transactions() -> None:
    """For a long-running service on PostgreSQL (`mmooc worker`, `mmooc lmtp`): each of its
    sessions tells the server to end it when it sits idle inside a transaction longer than
    MMOOC_SERVICE_IDLE_TRANSACTION_SECONDS, and to probe its TCP link after 30 s of silence.
    A worker whose machine loses power or its network while it records a batch otherwise
    keeps its row locks (delivery counters, the rate bucket) until the server's TCP stack
    gives up on the link, about 2 h 11 min with Linux's defaults, and every other worker
    waits on them. The service's own transactions are short (one batch), far below it."""
    seconds = settings.SERVICE_IDLE_TRANSACTION_SECONDS
    if not seconds:
        return
    connection_created.connect(_bound_session, dispatch_uid="mmooc-bound-idle-transactions")
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _bound_session(sender=type(conn), connection=conn)


def _bound_session(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('idle_in_transaction_session_timeout', %s, false), "
                       "set_config('tcp_keepalives_idle', '30', false), "
                       "set_config('tcp_keepalives_interval', '10', false), "
                       "set_config('tcp_keepalives_count', '3', false)",
                       [f"{settings.SERVICE_IDLE_TRANSACTION_SECONDS}s"])
