"""A whole course folder: the course and its modules (courses.folder) with a cohort's emails
(emails.folder), read and checked together, then applied in one transaction.

`import_folder` reads and checks everything before it changes anything, and reports every
problem as `file:line: message`. The format is described for course authors in
docs/course-authors.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from mmooc.audit.log import record
from mmooc.courses.folder import (
    COURSE_FILE,
    ModuleData,
    apply_course,
    apply_modules,
    read_course,
    read_modules,
    write_course,
)
from mmooc.courses.models import Cohort, Course
from mmooc.emails.folder import EmailData, apply_emails, email_files, read_emails
from mmooc.lib import folderfiles as ff
from mmooc.lib.folderfiles import FolderError, ImportReport


@dataclass
class Folder:
    course: dict[str, Any]
    modules: list[ModuleData]
    emails: list[EmailData]


def read_folder(path: str | Path) -> Folder:
    """Everything in the folder, checked; FolderError listing every problem otherwise."""
    root = Path(path)
    problems: list[str] = []
    if not (root / COURSE_FILE).is_file():
        raise FolderError([f"{COURSE_FILE}:1: missing: a course folder needs a {COURSE_FILE} file "
                           f"(looked in {root})"])
    course = read_course(root, problems)
    modules = read_modules(root, problems)
    emails = read_emails(root, problems, course, {m.position for m in modules})
    if problems:
        raise FolderError(problems)
    return Folder(course, modules, emails)


def import_folder(path: str | Path, *, cohort: Cohort | None = None, dry_run: bool = False,
                  actor: Any = None) -> ImportReport:
    """Check the folder, then make the database match it; FolderError changes nothing.

    With a cohort, the folder's emails are imported into it, keyed by file name. Emails
    whose first copy has left are never changed or removed.
    """
    folder = read_folder(path)
    if cohort is not None and cohort.course.slug != folder.course["slug"]:
        raise FolderError([f"{COURSE_FILE}:1: the cohort {cohort.slug} belongs to the course "
                           f"{cohort.course.slug}, not to {folder.course['slug']}"])
    report = ImportReport(folder.course["slug"], cohort.slug if cohort else "", dry_run)
    with transaction.atomic():
        course = apply_course(folder.course, report)
        modules = apply_modules(course, folder.modules, report)
        if cohort is not None:
            apply_emails(cohort, modules, folder.emails, report, actor)
        elif folder.emails:
            report.notes.append(f"{len(folder.emails)} emails not imported: name a cohort to import them into")
        if dry_run:
            transaction.set_rollback(True)
        elif not report.unchanged:
            record(actor, "course.imported", course, f"Imported the course folder of {course.slug}"
                   + (f" into {cohort.slug}" if cohort else ""), added=report.added, changed=report.changed,
                   removed=report.removed)
    return report


def export_folder(course: Course, path: str | Path, cohort: Cohort | None = None) -> list[str]:
    """Write the course (and the cohort's emails) as a course folder; returns the files written."""
    root = Path(path)
    written = write_course(course, root)
    if cohort is not None:
        for name, front, body in email_files(cohort):
            written.append(ff.write(root, f"emails/{name}", ff.front_matter(front, body)))
    return written
