"""`mmooc lists digest`: queue today's digests for members who chose a daily digest."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mmooc.lists.digest import send_digests


class Command(BaseCommand):
    help = "Group lists: `digest` queues today's daily digests (serve and worker do it hourly by themselves)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="digest")
        sub.add_parser("digest", help="queue one digest per group with new posts for its digest members")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "digest":
            count = send_digests()
            if options["verbosity"] > 0:
                self.stdout.write(f"Queued {count} digest{'s' * (count != 1)}.")
