from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Q

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner


class Command(BaseCommand):
    help = "List cohorts with their state, dates and learner counts (read-only)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="list")
        listing = sub.add_parser("list", help="One line per cohort.")
        listing.add_argument("--course", help="Only the cohorts of this course (its slug).")
        listing.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: object, **options: object) -> None:
        cohorts = (Cohort.objects.select_related("course").order_by("course__slug", "start_date", "slug")
                   .annotate(learners_total=Count("learners"),
                             learners_confirmed=Count("learners", filter=Q(learners__state=Learner.CONFIRMED))))
        if options["course"]:
            cohorts = cohorts.filter(course__slug=options["course"])
        rows = [self.row(cohort) for cohort in cohorts]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No cohorts yet.")
            return
        self.stdout.write(f"{'COURSE':<20} {'COHORT':<24} {'STATE':<12} {'START':<10} {'END':<10} LEARNERS")
        for r in rows:
            self.stdout.write(f"{r['course']:<20} {r['cohort']:<24} {r['state']:<12} {r['start_date']:<10} "
                              f"{r['end_date']:<10} {r['learners_confirmed']:,} confirmed "
                              f"({r['learners_total']:,} signed up)")

    @staticmethod
    def row(cohort: Any) -> dict[str, Any]:  # a Cohort annotated with learner counts
        return {
            "course": cohort.course.slug,
            "cohort": cohort.slug,
            "title": cohort.title,
            "state": cohort.stage()[0],
            "signup_opens": cohort.signup_opens.isoformat(),
            "signup_closes": cohort.signup_closes.isoformat(),
            "start_date": cohort.start_date.isoformat(),
            "end_date": cohort.end_date.isoformat(),
            "timezone": cohort.timezone,
            "learners_confirmed": cohort.learners_confirmed,
            "learners_total": cohort.learners_total,
        }
