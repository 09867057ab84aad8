from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mmooc.learners.registration import purge_unconfirmed
from mmooc.learners.staff_views import purge_uploads


class Command(BaseCommand):
    help = "Learner housekeeping: `mmooc learners purge` forgets signups never confirmed in time."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("purge", help="Remove unconfirmed signups and waitlist entries past their link's expiry.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "purge":
            removed = purge_unconfirmed()
            self.stdout.write(f"Removed {removed} unconfirmed signup{'s' if removed != 1 else ''}.")
            stale = purge_uploads()
            if stale:
                self.stdout.write(f"Removed {stale} abandoned CSV upload{'s' if stale != 1 else ''}.")
