"""`mmooc lmtp`: the LMTP server Postfix hands group mail to, and the socketmap Postfix asks
which addresses exist, until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from mmooc.lib.startup import PagelessCommand, bound_idle_transactions, freeze, log_start
from mmooc.lists import lmtp, socketmap


class Command(PagelessCommand):
    help = "Receive group mail from Postfix over LMTP and relay it; answer Postfix's recipient lookups (until stopped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.LMTP_HOST,
                            help="address to listen on for LMTP (default: MMOOC_LMTP_HOST, %(default)s)")
        parser.add_argument("--port", type=int, default=settings.LMTP_PORT,
                            help="LMTP port (default: MMOOC_LMTP_PORT, %(default)s)")
        parser.add_argument("--socketmap-host", default=settings.SOCKETMAP_HOST,
                            help="address to listen on for Postfix's socketmap lookups "
                                 "(default: MMOOC_SOCKETMAP_HOST, %(default)s)")
        parser.add_argument("--socketmap-port", type=int, default=settings.SOCKETMAP_PORT,
                            help="socketmap port (default: MMOOC_SOCKETMAP_PORT, %(default)s; 0 turns it off)")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        socketmap_at = (f"{options['socketmap_host']}:{options['socketmap_port']}"
                        if options["socketmap_port"] else "off")
        bound_idle_transactions()
        log_start("lmtp", listen=f"{options['host']}:{options['port']}", socketmap=socketmap_at,
                  max_post=f"{settings.LIST_MAX_POST_BYTES // (1024 * 1024)} MB",
                  max_held_post=f"{settings.LIST_MAX_HELD_POST_BYTES // (1024 * 1024)} MB")
        # Handlers first: a signal arriving as soon as the port is open must stop us cleanly.
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        freeze()
        try:
            self.serve(options, stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if options["verbosity"] > 0:
            self.stdout.write("LMTP server stopped.")

    def serve(self, options: dict[str, Any], stop: threading.Event) -> None:
        host, port = options["host"], options["port"]
        try:
            server = lmtp.start(host, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen for LMTP on {host}:{port}: {exc.strerror or exc}") from None
        try:
            lookups = start_socketmap(options["socketmap_host"], options["socketmap_port"])
        except CommandError:
            server.stop()
            raise
        if options["verbosity"] > 0:
            self.stdout.write(f"Listening for LMTP on {host}:{port} (group addresses @{settings.LIST_DOMAIN})"
                              + (f", socketmap on {lookups.host}:{lookups.port}" if lookups else "")
                              + "; stop with Ctrl-C.")
        try:
            while not stop.wait(1.0):
                pass
        finally:
            if lookups is not None:
                lookups.stop()
            server.stop()


def start_socketmap(host: str, port: int) -> socketmap.SocketmapServer | None:
    """The socketmap server, or None when turned off (port 0); CommandError if the port is taken."""
    if not port:
        return None
    try:
        return socketmap.start(host, port)
    except OSError as exc:
        raise CommandError(f"Cannot listen for socketmap lookups on {host}:{port}: {exc.strerror or exc}. "
                           "Use --socketmap-port (MMOOC_SOCKETMAP_PORT) to choose another port, "
                           "or 0 to turn it off.") from None
