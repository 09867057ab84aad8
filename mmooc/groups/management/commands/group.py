"""`mmooc group preview|apply|export <cohort>`: study groups from the command line."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mmooc.courses.models import Cohort
from mmooc.groups.apply import apply_grouping, preview_plan
from mmooc.groups.grouping import GroupingError, ProposedGroup, format_offset, summarize
from mmooc.groups.membership import waiting_learners
from mmooc.groups.models import Membership
from mmooc.lib.counts import counted
from mmooc.lib.downloads import csv_lines

# Below this many groups the welcome emails are queued too fast for a progress bar to help.
PROGRESS_FROM = 50
BAR_WIDTH = 30
ROSTER_FIELDS = ["group", "group_address", "name", "email"]


class ProgressBar:
    """A one-line bar on stderr, redrawn only when a whole percent passes."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream, self.label, self.shown = stream, label, -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent == self.shown:
            return
        self.shown = percent
        filled = BAR_WIDTH * done // max(total, 1)
        self.stream.write(f"\r{self.label} [{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {done:,}/{total:,}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Preview or apply study groups for a cohort, or export its group roster."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="preview|apply|export")
        for name, text in (("preview", "Show the groups grouping would form now; changes nothing."),
                           ("apply", "Form the groups, add their members and queue the welcome emails.")):
            p = sub.add_parser(name, help=text)
            p.add_argument("cohort", help="The cohort's slug (see `mmooc cohort list`).")
            p.add_argument("--size", type=int, help="Target group size (default: the course's).")
            p.add_argument("--seed", type=int, default=0, help="Breaks ties between equal choices (default 0).")
            p.add_argument("--min-group", type=int, default=None,
                           help="Minimum group size (default: the cohort's, see the grouping page).")
        export = sub.add_parser("export", help="Print the roster: one row per member.")
        export.add_argument("cohort", help="The cohort's slug (see `mmooc cohort list`).")
        export.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        cohort = Cohort.objects.select_related("course").filter(slug=options["cohort"]).first()
        if cohort is None:
            raise CommandError(f"No cohort {options['cohort']!r}; `mmooc cohort list` shows the cohorts.")
        try:
            getattr(self, f"do_{options['action']}")(cohort, options)
        except GroupingError as exc:
            raise CommandError(str(exc)) from None

    def do_preview(self, cohort: Cohort, options: dict[str, Any]) -> None:
        plan = preview_plan(cohort, target_size=options["size"], seed=options["seed"],
                            min_group=options.get("min_group"))
        groups = plan.groups
        if groups or not plan.unplaced:
            self.stdout.write(self.describe(cohort, groups, options))
        if groups:
            self.stdout.write(f"{'GROUP':>6} {'SIZE':>5} {'SPAN':>6}  {'LANGUAGE':<12} TIME ZONES")
            for g in groups:
                language = "pooled: " + ", ".join(g.languages) if g.pooled else g.language
                self.stdout.write(f"{g.number:>6} {g.size:>5} {g.span_hours:>5.1f}h  {language:<12} "
                                  f"{format_offset(g.first_offset)} to {format_offset(g.last_offset)}: {g.zones_label}")
        for reason in dict.fromkeys(u.reason for u in plan.unplaced):
            count = sum(u.reason == reason for u in plan.unplaced)
            self.stdout.write(f"Not placed: {counted(count, 'learner', 'learners')}. {reason}")
        self.stdout.write("Nothing was changed. Run `mmooc group apply` with the same options to form these groups.")

    def do_apply(self, cohort: Cohort, options: dict[str, Any]) -> None:
        bar = ProgressBar(sys.stderr, "Queueing welcome emails")
        progress = None
        if preview_count(cohort, options) >= PROGRESS_FROM:
            progress = bar
        grouping = apply_grouping(cohort, target_size=options["size"], seed=options["seed"], progress=progress,
                                  min_group=options.get("min_group"))
        count = grouping.groups.count()
        self.stdout.write(f"{counted(count, 'group', 'groups')} formed for "
                          f"{counted(grouping.learner_count, 'learner', 'learners')} of {cohort.slug} "
                          f"(seed {grouping.seed}); {counted(count, 'welcome email', 'welcome emails')} queued.")
        waiting = waiting_learners(cohort).count()
        if waiting:
            self.stdout.write(f"{counted(waiting, 'learner still waits', 'learners still wait')} for a group.")

    def do_export(self, cohort: Cohort, options: dict[str, Any]) -> None:
        rows = (Membership.objects.active().filter(group__cohort=cohort)
                .order_by("group__number", "learner__name", "learner__email")
                .values_list("group__name", "group__address", "learner__name", "learner__email"))
        if options["format"] == "json":
            self.stdout.write("[", ending="")
            for i, row in enumerate(rows.iterator(chunk_size=2000)):
                prefix = "," if i else ""
                self.stdout.write(prefix + "\n  " + json.dumps(dict(zip(ROSTER_FIELDS, row, strict=True))), ending="")
            self.stdout.write("\n]")
            return
        for line in csv_lines(ROSTER_FIELDS, rows.iterator(chunk_size=2000), lineterminator="\n"):
            self.stdout.write(line, ending="")

    @staticmethod
    def describe(cohort: Cohort, groups: list[ProposedGroup], options: dict[str, Any]) -> str:
        s = summarize(groups)
        size = options["size"] or cohort.course.group_size
        if not groups:
            return f"No learners of {cohort.slug} are waiting for a group."
        pooled = f"; {s.pooled} pooled (mixed languages)" if s.pooled else ""
        plural = "" if s.groups == 1 else "s"
        return (f"{s.learners:,} learners of {cohort.slug} in {s.groups:,} group{plural} (target size {size}, "
                f"seed {options['seed']}): sizes {s.smallest}–{s.largest}, widest span {s.widest_span:.1f} h"
                f"{pooled}; languages: {', '.join(s.languages)}.")


def preview_count(cohort: Cohort, options: dict[str, Any]) -> int:
    """How many groups apply will form, roughly: enough to decide whether to draw a bar."""
    from mmooc.groups.apply import eligible_learners

    return eligible_learners(cohort).count() // max(options["size"] or cohort.course.group_size, 1)
