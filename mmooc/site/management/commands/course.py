"""`mmooc course import|export`: a course kept as a folder of files in git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mmooc.courses.models import Cohort, Course
from mmooc.lib.counts import counted
from mmooc.lib.folderfiles import FolderError
from mmooc.site.folders import export_folder, import_folder


class Command(BaseCommand):
    help = "Import or export a course folder (course.yaml, modules/, emails/)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="import|export")
        imp = sub.add_parser("import", help="Check a course folder, then make the database match it.")
        imp.add_argument("dir", help="the course folder")
        imp.add_argument("--cohort", help="also import the folder's emails into this cohort (its slug)")
        imp.add_argument("--dry-run", action="store_true", help="check and show the changes, change nothing")
        exp = sub.add_parser("export", help="Write a course (and a cohort's emails) as a course folder.")
        exp.add_argument("slug", help="the course's slug")
        exp.add_argument("dir", help="the folder to write (created if needed)")
        exp.add_argument("--cohort", help="also write this cohort's emails (its slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import":
            self.do_import(options)
        else:
            self.do_export(options)

    def _cohort(self, slug: str | None) -> Cohort | None:
        if not slug:
            return None
        cohort = Cohort.objects.select_related("course").filter(slug=slug).first()
        if cohort is None:
            raise CommandError(f"No cohort {slug!r}; `mmooc cohort list` shows them.")
        return cohort

    def do_import(self, options: dict) -> None:
        path = Path(options["dir"])
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder.")
        try:
            report = import_folder(path, cohort=self._cohort(options["cohort"]), dry_run=options["dry_run"],
                                   actor="mmooc course import")
        except FolderError as exc:
            self.stderr.write("\n".join(exc.problems))
            raise CommandError(f"{counted(len(exc.problems), 'problem', 'problems')}; nothing was changed.") from None
        self.stdout.write(report.text())
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")

    def do_export(self, options: dict) -> None:
        course = Course.objects.filter(slug=options["slug"]).first()
        if course is None:
            raise CommandError(f"No course {options['slug']!r}.")
        cohort = self._cohort(options["cohort"])
        if cohort is not None and cohort.course_id != course.pk:
            raise CommandError(f"The cohort {cohort.slug} belongs to another course.")
        written = export_folder(course, options["dir"], cohort=cohort)
        self.stdout.write(f"Wrote {len(written)} files to {options['dir']}.")
