from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor

from mmooc.lib import periodic
from mmooc.lib.startup import log_start
from mmooc.operations import leases


class Command(BaseCommand):
    help = "Run the embedded server: web pages, delivery engine and LMTP receiver in one process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Web port (default 8000).")
        parser.add_argument("--threads", type=int, default=8, help="Web worker threads (default 8).")
        parser.add_argument("--lmtp-port", type=int, default=settings.LMTP_PORT,
                            help=f"LMTP port for group mail (default {settings.LMTP_PORT}; 0 turns it off).")
        parser.add_argument("--socketmap-port", type=int, default=settings.SOCKETMAP_PORT,
                            help=f"Port answering Postfix's recipient lookups, beside LMTP "
                                 f"(default {settings.SOCKETMAP_PORT}; 0 turns it off).")
        parser.add_argument("--no-engine", action="store_true", help="Do not run the delivery engine here.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.refuse_unmigrated()
        log_start("serve", listen=f"{options['host']}:{options['port']}",
                  engine="off" if options["no_engine"] else "on",
                  lmtp=f"{settings.LMTP_HOST}:{options['lmtp_port']}" if options["lmtp_port"] else "off")
        stop = threading.Event()
        threads = []
        if not options["no_engine"]:
            from mmooc.mailer import engine

            try:
                engine.check_can_run()
            except engine.EngineBusy as exc:
                raise CommandError(f"{exc} (or run `mmooc serve --no-engine`)") from None
            threads.append(threading.Thread(target=engine.run, args=(stop,), name="engine", daemon=True))
        threads.append(threading.Thread(target=periodic.loop, args=(stop,), kwargs={"claim": leases.claim},
                                        name="periodic", daemon=True))
        lmtp_server = self.start_lmtp(options["lmtp_port"])
        lookups = self.start_socketmap(options["socketmap_port"] if lmtp_server else 0, lmtp_server)
        web = self.make_web_server(options)
        for thread in threads:
            thread.start()
        self.stdout.write(self.banner(options))
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            web.run()  # returns after Ctrl-C or SIGTERM, once waitress has shut its threads down
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.stdout.write("Stopping …")
            stop.set()
            web.close()
            if lookups is not None:
                lookups.stop()
            if lmtp_server is not None:
                lmtp_server.stop()
            for thread in threads:
                thread.join(timeout=60)
            connections.close_all()
            self.stdout.write("Stopped.")

    def refuse_unmigrated(self) -> None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not up to date: run `mmooc migrate` first.")

    def start_lmtp(self, port: int) -> Any:
        if not port:
            return None
        from mmooc.lists import lmtp

        try:
            return lmtp.start(settings.LMTP_HOST, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen for LMTP on {settings.LMTP_HOST}:{port}: {exc.strerror}. "
                               "Use --lmtp-port to choose another port, or 0 to turn it off.") from None

    def start_socketmap(self, port: int, lmtp_server: Any) -> Any:
        from mmooc.lists.management.commands.lmtp import start_socketmap

        try:
            return start_socketmap(settings.SOCKETMAP_HOST, port)
        except CommandError:
            if lmtp_server is not None:
                lmtp_server.stop()
            raise

    def make_web_server(self, options: dict[str, Any]) -> Any:
        from django.core.wsgi import get_wsgi_application
        from waitress.server import create_server

        try:
            # The TLS proxy in front (on this machine) says a request came over HTTPS; without
            # believing it, an https site's redirect to HTTPS would send every request round again.
            return create_server(get_wsgi_application(), host=options["host"], port=options["port"],
                                 threads=options["threads"], ident="mmooc", trusted_proxy="127.0.0.1",
                                 trusted_proxy_headers={"x-forwarded-proto"}, clear_untrusted_proxy_headers=False)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror}. "
                               "Use --port to choose another port.") from None

    def banner(self, options: dict[str, Any]) -> str:
        url = f"http://{options['host']}:{options['port']}/"
        parts = [f"Serving on {url}  (Ctrl-C to stop)"]
        parts.append("  delivery engine: " + ("off (--no-engine)" if options["no_engine"]
                                              else f"on, mail goes to {settings.EMAIL_CONFIG.name}"))
        lmtp = options["lmtp_port"]
        parts.append(f"  LMTP for group mail: {settings.LMTP_HOST}:{lmtp}" if lmtp else "  LMTP: off")
        if lmtp and options["socketmap_port"]:
            parts.append(f"  socketmap for Postfix: {settings.SOCKETMAP_HOST}:{options['socketmap_port']}")
        return "\n".join(parts)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
