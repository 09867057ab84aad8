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
    made_files,
    module_numbers,
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
    # With course.yaml unreadable, its links and questions are unknown: emails are not
    # checked against them, so one problem is reported once.
    known = course if course else {"links": None, "questions": None}
    emails = read_emails(root, problems, known, module_numbers(root))
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
        else:
            _keep_files(Path(path), course, cohort, [m.file for m in folder.modules])
        if not dry_run and not report.unchanged:
            record(actor, "course.imported", course, f"Imported the course folder of {course.slug}"
                   + (f" into {cohort.slug}" if cohort else ""), added=report.added, changed=report.changed,
                   removed=report.removed)
    return report


def _made_emails(cohort: Cohort) -> dict[str, str]:
    return {f"emails/{name}": ff.front_matter(front, body) for name, front, body in email_files(cohort)}


def _keep_files(root: Path, course: Course, cohort: Cohort | None, module_names: list[str]) -> None:
    """Remember the imported files with what an export would write for each, so that an
    export of what has not changed since writes the files exactly as they were."""
    # Read back: the database may hold JSON (links, questions) in another key order than the
    # folder's, and an export works from what the database holds.
    course = Course.objects.get(pk=course.pk)
    made = made_files(course, module_names)
    if cohort is not None:
        made.update(_made_emails(cohort))
    kept = {}
    for name, text in made.items():
        path = root / name
        if path.is_file():
            kept[name] = {"text": ff.lf(path.read_text(encoding="utf-8")), "made": text}
    if not cohort:  # the emails' files stay as they were kept with the cohort's last import
        kept.update({k: v for k, v in (course.folder_files or {}).items() if k.startswith("emails/")})
    if kept != course.folder_files:
        course.folder_files = kept
        course.save(update_fields=["folder_files"])


def export_folder(course: Course, path: str | Path, cohort: Cohort | None = None) -> list[str]:
    """Write the course (and the cohort's emails) as a course folder; returns the files written.
    Files describing what has not changed since the last import are written as imported."""
    root = Path(path)
    written = write_course(course, root)
    if cohort is not None:
        sources = course.folder_files or {}
        for name, made in _made_emails(cohort).items():
            written.append(ff.write(root, name, ff.as_imported(sources, name, made)))
    return written
