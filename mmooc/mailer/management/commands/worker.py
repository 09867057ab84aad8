"""`mmooc worker`: the delivery engine as its own process."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from mmooc.lib import periodic
from mmooc.lib.startup import PagelessCommand, bound_idle_transactions, freeze, log_start
from mmooc.mailer import engine
from mmooc.operations import leases


class Command(PagelessCommand):
    help = "Send queued mail: run the delivery engine until stopped (several may run on PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true",
                            help="send what is due now, then exit")
        parser.add_argument("--batch", type=int, default=None,
                            help="deliveries per batch (default: MMOOC_MAIL_BATCH)")
        parser.add_argument("--lease", type=int, default=int(engine.LEASE.total_seconds()),
                            help="seconds a claimed batch stays reserved before another engine may "
                                 "take it back (default: %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            # Finish the batch in hand, record it, then exit.
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if options["batch"] is not None and options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        bound_idle_transactions()
        log_start("worker", lease=f"{options['lease']} s", once=options["once"])
        if not options["once"]:
            freeze()
            # Periodic jobs (expired signups, daily digests) run beside the engine.
            threading.Thread(target=periodic.loop, args=(stop,), kwargs={"claim": leases.claim},
                             name="periodic", daemon=True).start()
        try:
            lease = timedelta(seconds=max(1, options["lease"]))
            eng = engine.Engine(batch_size=options["batch"], lease=lease)
            total = engine.run(stop, once=options["once"], engine=eng)
        except engine.EngineBusy as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"] > 0:
            self.stdout.write(f"Processed {total} deliveries.")
