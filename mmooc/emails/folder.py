"""A cohort's emails in a course folder (`emails/*.md`), keyed by file name.

    emails/welcome.md           front matter: subject, module, audience, schedule or trigger,
                                phase (before-start or grouping: not sent once it is over);
                                body: the email (Markdown with template variables)
    emails/es/welcome.md        the same email in Spanish (a variant): front matter subject
                                only; learners writing that language get it, the others the
                                email itself. The folder is named by a translated language
                                (settings.LANGUAGES: es, pt-br or pt_BR, ar).

`read_emails` checks the files (every problem as `file:line: message`); `apply_emails`
makes a cohort's emails match them; `email_files` writes them back. Emails whose first
copy has left are never changed or removed. The whole folder is imported by
`mmooc.site.folders`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from mmooc.courses.models import Cohort, Course, Module
from mmooc.emails import audience as audiences
from mmooc.emails import scheduling, templating, timing
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.lib import folderfiles as ff
from mmooc.lib.folderfiles import File, FolderError, ImportReport, Map

EMAIL_KEYS = {"subject", "module", "audience", "schedule", "trigger", "phase"}
VARIANT_KEYS = {"subject"}
PHASES = [code for code, _ in CourseEmail.PHASES if code]
EMAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,96}\.md$")


@dataclass
class EmailData:
    key: str
    file: str
    subject: str
    body: str
    module: int | None
    audience: dict[str, Any]
    schedule: timing.Schedule | None  # None for a triggered email
    trigger: str
    phase: str = ""
    # language → (subject, body) of the variants in emails/<language>/
    variants: dict[str, tuple[str, str]] = field(default_factory=dict)


def read_emails(root: Path, problems: list[str], course: dict[str, Any], positions: set[int]) -> list[EmailData]:
    """The checked files of root/emails; problems are added to `problems`."""
    emails = []
    for name in ff.files(root, "emails"):
        f = File(f"emails/{name}", problems)
        if not EMAIL_NAME.match(name):
            f.error(0, "email files are named with letters, digits and dashes, ending in .md")
            continue
        email = _read_email(root / "emails" / name, f, course, positions)
        if email:
            emails.append(email)
    _read_variants(root, problems, course, {e.key: e for e in emails},
                   {n.removesuffix(".md") for n in ff.files(root, "emails")})
    return emails


def _read_variants(root: Path, problems: list[str], course: dict[str, Any], emails: dict[str, EmailData],
                   keys: set[str]) -> None:
    """The variants in emails/<language>/, added to their emails (`keys`: every base file,
    read or not, so that a base file with its own problem is not reported twice)."""
    folder = root / "emails"
    if not folder.is_dir():
        return
    seen: dict[str, str] = {}
    known = course.get("links", {})
    links = list(known) if known is not None else None
    for directory in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        where = File(f"emails/{directory.name}/", problems)
        language = _folder_language(directory.name)
        if directory.is_symlink():
            where.error(0, "a language folder cannot be a link")
            continue
        if not language:
            names = ", ".join(code for code, _ in scheduling.variant_languages())
            where.error(0, f"{directory.name!r} is not a translated language: name the folder {names}")
            continue
        if language in seen:
            where.error(0, f"the same language as emails/{seen[language]}/: keep one folder per language")
            continue
        seen[language] = directory.name
        for name in ff.files(folder, directory.name):
            f = File(f"emails/{directory.name}/{name}", problems)
            key = name.removesuffix(".md")
            if not EMAIL_NAME.match(name):
                f.error(0, "email files are named with letters, digits and dashes, ending in .md")
            elif key not in keys:
                f.error(0, f"there is no emails/{name} for this file to translate")
            else:
                read = _read_variant(directory / name, f, links)
                if read is not None and key in emails:
                    emails[key].variants[language] = read


def _folder_language(name: str) -> str:
    """The variant language a folder names, exactly (es, pt-br, pt_BR; not fr, not pt)."""
    code = name.lower().replace("_", "-")
    return code if code in dict(scheduling.variant_languages()) else ""


def _read_variant(path: Path, f: File, links: list[str] | None) -> tuple[str, str] | None:
    if path.is_symlink():
        f.error(0, "an email file cannot be a link")
        return None
    text = ff.text(path.parent, path.name, f)
    parts = ff.split_front_matter(text, f) if text is not None else None
    if parts is None or parts[0] is None:
        return None
    data, body, body_line = parts
    f.first_line = 2
    for key in data:
        if key not in VARIANT_KEYS:
            f.error(data.lines[key], f"{key!r}: a translation has only a subject and a body; "
                    "the rest is the email's (emails/" + path.name + ")")
    subject = _subject(data, f)
    _check_text(data, subject, body, body_line, f, links)
    return subject, body


def _subject(data: Map, f: File) -> str:
    subject = ff.string(data, "subject", f, required=True, max_length=300)
    if "\n" in subject or "\r" in subject:
        f.error(data.lines["subject"], "subject: must be on one line")
    return subject


def _check_text(data: Map, subject: str, body: str, body_line: int, f: File, links: list[str] | None) -> None:
    """The subject's and the body's placeholders, and a body that says something."""
    for problem in templating.validate(subject, links=links):
        f.error(data.lines.get("subject", 0), f"subject: {problem.message}")
    f.first_line = body_line
    if not body.strip():
        f.error(0, "the email has no text after the front matter")
    for problem in templating.validate(body, links=links):
        f.error(problem.line - 1, problem.message)
    f.first_line = 1


def _read_email(path: Path, f: File, course: dict[str, Any], positions: set[int]) -> EmailData | None:
    name = path.name
    text = ff.text(path.parent, name, f)
    parts = ff.split_front_matter(text, f) if text is not None else None
    if parts is None or parts[0] is None:
        return None
    data, body, body_line = parts
    f.first_line = 2
    ff.unknown_keys(data, EMAIL_KEYS, f)
    subject = _subject(data, f)
    module = ff.integer(data, "module", f, None, minimum=1)
    if module is not None and module not in positions:
        f.error(data.lines["module"], f"module: there is no module {module} in modules/")
    try:
        audience = audiences.parse_audience(data.get("audience"), course.get("questions"))
    except audiences.AudienceError as exc:
        audience = {}
        f.error(data.lines.get("audience", data.line), f"audience: {exc}")
    schedule, trigger = _schedule(data, f)
    phase = data.get("phase") or ""
    if phase not in ("", *PHASES):
        f.error(data.lines["phase"], f"phase: write {' or '.join(PHASES)}, got {phase!r}")
    known = course.get("links", {})
    links = list(known) if known is not None else None
    _check_text(data, subject, body, body_line, f, links)
    return EmailData(name.removesuffix(".md"), f.name, subject, body, module, audience, schedule, trigger,
                     str(phase))


def _schedule(data: Map, f: File) -> tuple[timing.Schedule | None, str]:
    has_schedule, trigger = "schedule" in data, data.get("trigger")
    if trigger is not None:
        if trigger != "welcome":
            f.error(data.lines["trigger"], f"trigger: the only trigger is welcome, got {trigger!r}")
        if has_schedule:
            f.error(data.lines["schedule"], "use either schedule: or trigger:, not both")
        return None, "welcome"
    if not has_schedule:
        f.error(data.line, "schedule: is required (or trigger: welcome)")
        return None, ""
    try:
        return timing.parse_schedule(data["schedule"]), ""
    except timing.ScheduleError as exc:
        f.error(data.lines["schedule"], f"schedule: {exc}")
        return None, ""


def read_email_file(path: str | Path, course: Course) -> EmailData:
    """One email file in the course-folder format, checked against the course; FolderError if bad."""
    path = Path(path)
    problems: list[str] = []
    f = File(path.name, problems)
    if not path.is_file():
        raise FolderError([f"{path.name}:1: no such file"])
    if not EMAIL_NAME.match(path.name):
        raise FolderError([f"{path.name}:1: email files are named with letters, digits and dashes, ending in .md"])
    data = {"questions": course.questions, "links": course.links}
    positions = set(course.modules.values_list("position", flat=True))
    email = _read_email(path, f, data, positions)
    if problems or email is None:
        raise FolderError(problems)
    return email


FIELDS = ["subject", "body", "module", "audience", "trigger", "schedule", "send_at", "day_offset", "local_time",
          "phase"]


def _wanted(cohort: Cohort, modules: dict[int, Module], data: EmailData) -> CourseEmail:
    email = CourseEmail(cohort=cohort, key=data.key, subject=data.subject, body=data.body,
                        module=modules.get(data.module) if data.module else None, audience=data.audience,
                        trigger=data.trigger, phase=data.phase)
    if data.schedule is not None:
        scheduling.apply_schedule(email, data.schedule)
    else:
        email.schedule, email.send_at, email.day_offset, email.local_time = CourseEmail.NOW, None, None, None
    return email


def _differences(email: CourseEmail, wanted: CourseEmail) -> list[str]:
    diff = []
    for name in FIELDS:
        attr = "module_id" if name == "module" else name
        ours, theirs = getattr(email, attr), getattr(wanted, attr)
        if name == "body":  # line ends and the blank lines around the text are not a change
            ours, theirs = ff.lf(ours).strip("\n"), ff.lf(theirs).strip("\n")
        if ours != theirs:
            diff.append(name)
    return diff


def apply_emails(cohort: Cohort, modules: dict[int, Module], emails: list[EmailData], report: ImportReport,
                 actor: Any) -> None:
    existing = {e.key: e for e in cohort.emails.exclude(key="").select_related("message")}
    for data in emails:
        wanted = _wanted(cohort, modules, data)
        email = existing.pop(data.key, None)
        if email is None:
            wanted.save()
            _set_variants(wanted, data.variants)
            report.added.append(f"email {data.key}: {data.subject}")
            continue
        diff = _differences(email, wanted) + _variant_differences(email, data.variants)
        if not diff:
            continue
        if scheduling.is_locked(email):
            report.notes.append(f"{data.file}: already sent, so not changed ({', '.join(diff)} differ)")
            continue
        fields = [name for name in diff if name in FIELDS]
        for name in fields:
            attr = "module_id" if name == "module" else name
            setattr(email, attr, getattr(wanted, attr))
        email.updated_at = timezone.now()
        email.save(update_fields=[*fields, "updated_at"])
        _set_variants(email, data.variants)
        report.changed.append(f"email {data.key}: {', '.join(diff)}")
        if email.state == CourseEmail.SCHEDULED and not email.trigger:
            scheduling.replace(email, actor)
    for key, email in existing.items():
        if scheduling.is_locked(email):
            report.notes.append(f"email {key} is no longer in the folder but was already sent: kept")
            continue
        if email.state == CourseEmail.SCHEDULED and email.message_id:
            scheduling.cancel(email, actor)
        report.removed.append(f"email {key}: {email.subject}")
        email.delete()


def _variant_differences(email: CourseEmail, wanted: dict[str, tuple[str, str]]) -> list[str]:
    """"variant <language>" for each variant added, changed or removed."""
    have = {v.language: (v.subject, ff.lf(v.body).strip("\n")) for v in email.variants.all()}
    want = {language: (subject, ff.lf(body).strip("\n")) for language, (subject, body) in wanted.items()}
    return [f"variant {language}" for language in sorted(have.keys() | want.keys())
            if have.get(language) != want.get(language)]


def _set_variants(email: CourseEmail, wanted: dict[str, tuple[str, str]]) -> None:
    """Make the email's variants those of the folder (the caller queues a scheduled email again)."""
    for variant in email.variants.exclude(language__in=list(wanted)):
        scheduling.remove_variant(variant)
    for language, (subject, body) in wanted.items():
        CourseEmailVariant.objects.update_or_create(email=email, language=language,
                                                    defaults={"subject": subject, "body": body,
                                                              "updated_at": timezone.now()})


def email_files(cohort: Cohort) -> list[tuple[str, dict[str, Any], str]]:
    """(file name, front matter, body) for each of the cohort's emails, then each variant
    ("es/welcome.md")."""
    files = []
    emails = cohort.emails.select_related("module").prefetch_related("variants").order_by("pk")
    for email in emails:
        front: dict[str, Any] = {"subject": email.subject}
        if email.module:
            front["module"] = email.module.position
        front["audience"] = _audience(email.audience)
        if email.trigger:
            front["trigger"] = email.trigger
        else:
            schedule = scheduling.email_schedule(email)
            assert schedule is not None, "an email without a trigger has a schedule"
            front["schedule"] = schedule.text()
        if email.phase:
            front["phase"] = email.phase
        files.append((f"{email.key or 'email-' + email.public_id.hex[:8]}.md", front, email.body))
    for email in emails:
        for variant in email.variants.all():
            files.append((f"{variant.language}/{email.key or 'email-' + email.public_id.hex[:8]}.md",
                          {"subject": variant.subject}, variant.body))
    return files


def _audience(audience: dict[str, Any]) -> Any:
    kind = (audience or {}).get("kind", "all")
    if kind == "groups":
        return {"groups": audience["groups"]}
    if kind == "answer":
        return {"question": audience["question"], "answer": audience["answer"]}
    if kind == "test":
        return {"test": audience["addresses"]}
    return kind


def upsert(cohort: Cohort, data: EmailData, actor: Any) -> CourseEmail:
    """One email file into the cohort (same key: updated unless already sent); not scheduled."""
    modules = {m.position: m for m in cohort.course.modules.all()}
    wanted = _wanted(cohort, modules, data)
    email = cohort.emails.filter(key=data.key).select_related("message").first()
    if email is None:
        wanted.created_by = actor if getattr(actor, "pk", None) else None
        wanted.save()
        return wanted
    if scheduling.is_locked(email):
        raise scheduling.ScheduleError(f"The email {data.key} was already sent; it can no longer change.")
    diff = _differences(email, wanted)
    for name in diff:
        attr = "module_id" if name == "module" else name
        setattr(email, attr, getattr(wanted, attr))
    if diff:
        email.updated_at = timezone.now()
        email.save(update_fields=[*diff, "updated_at"])
    return email
