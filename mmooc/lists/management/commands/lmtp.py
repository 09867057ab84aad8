"""`mmooc lmtp`: the LMTP server Postfix hands group mail to, until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mmooc.lists import lmtp


class Command(BaseCommand):
    help = "Receive group mail from Postfix over LMTP and relay it (until stopped)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.LMTP_HOST,
                            help="address to listen on (default: MMOOC_LMTP_HOST, %(default)s)")
        parser.add_argument("--port", type=int, default=settings.LMTP_PORT,
                            help="port to listen on (default: MMOOC_LMTP_PORT, %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        # Handlers first: a signal arriving as soon as the port is open must stop us cleanly.
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.serve(options["host"], options["port"], stop, options["verbosity"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if options["verbosity"] > 0:
            self.stdout.write("LMTP server stopped.")

    def serve(self, host: str, port: int, stop: threading.Event, verbosity: int) -> None:
        try:
            server = lmtp.start(host, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen for LMTP on {host}:{port}: {exc.strerror or exc}") from None
        if verbosity > 0:
            self.stdout.write(f"Listening for LMTP on {host}:{port} "
                              f"(group addresses @{settings.LIST_DOMAIN}); stop with Ctrl-C.")
        try:
            while not stop.wait(1.0):
                pass
        finally:
            server.stop()
