"""Course folders: a whole course (and a cohort's emails) kept as files in git.

    course.yaml                 slug, title, summary, description, faq, questions,
                                group_size, organizer {name, email, postal}, links, group_intro
    modules/01-name.md          front matter: title, release_day, resources; body: the goals
    emails/welcome.md           front matter: subject, module, audience, schedule or trigger;
                                body: the email (Markdown with template variables)

`import_folder` reads and checks everything before it changes anything, and reports every
problem as `file:line: message`; then it applies the whole folder in one transaction.
The format is described for course authors in docs/course-authors.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils.text import slugify

from mmooc.courses.models import Cohort, Course, Module, Resource

COURSE_FILE = "course.yaml"
COURSE_KEYS = {"slug", "title", "summary", "description", "faq", "questions", "group_size",
               "organizer", "links", "group_intro"}
ORGANIZER_KEYS = {"name", "email", "postal"}
QUESTION_KEYS = {"id", "label", "type", "choices", "required"}
QUESTION_TYPES = ("text", "single", "multiple", "yesno")
MODULE_KEYS = {"title", "release_day", "resources"}
RESOURCE_KEYS = {"title", "url", "kind", "minutes", "download"}
EMAIL_KEYS = {"subject", "module", "audience", "schedule", "trigger"}
RESOURCE_KINDS = [k for k, _ in Resource.KINDS]
MODULE_NAME = re.compile(r"^(\d{1,3})-[A-Za-z0-9_-]+\.md$")
EMAIL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,96}\.md$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
MAX_FILE_BYTES = 1_000_000


class FolderError(Exception):
    """The folder cannot be imported; `problems` lists each as `file:line: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    course: str
    cohort: str = ""
    dry_run: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def text(self) -> str:
        verb = "would be" if self.dry_run else "were"
        lines = [f"Course {self.course}" + (f", cohort {self.cohort}" if self.cohort else "") + ":"]
        if self.unchanged:
            lines.append("  nothing to change: the database already matches the folder.")
        for title, items in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            if items:
                lines.append(f"  {len(items)} {verb} {title}:")
                lines += [f"    {item}" for item in items]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


# ---------------------------------------------------------------- YAML with line numbers

class _Map(dict):
    line = 0
    lines: dict


class _Seq(list):
    line = 0
    lines: list


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line, result.lines = node.start_mark.line, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} appears twice",
                                                    key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line, result.lines = node.start_mark.line, [child.start_mark.line for child in node.value]
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
# Dates stay text: schedules are checked by our own reader, with our own messages.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


class _File:
    """Problems found in one file, each with its line number."""

    def __init__(self, name: str, problems: list[str], first_line: int = 1):
        self.name, self.problems, self.first_line = name, problems, first_line

    def error(self, mark_line: int, message: str) -> None:
        self.problems.append(f"{self.name}:{mark_line + self.first_line}: {message}")

    def load(self, text: str) -> Any:
        try:
            return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(mark.line if mark else 0, f"cannot read the YAML: {problem}")
            return None

    def has_problems(self) -> bool:
        return any(p.startswith(f"{self.name}:") for p in self.problems)


def _split_front_matter(text: str, f: _File) -> tuple[Any, str, int] | None:
    """(front matter, body, line number of the body's first line), or None with a problem."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        f.error(0, "bad front matter: the file must start with a line '---', then the settings, "
                   "then another '---'")
        return None
    end = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() in ("---", "...")), None)
    if end is None:
        f.error(0, "bad front matter: no closing '---' line after the settings")
        return None
    f.first_line = 2
    data = f.load("\n".join(lines[1:end]))
    f.first_line = 1
    if data is None and not f.has_problems():
        f.error(0, "bad front matter: the settings between the '---' lines are empty")
    if data is not None and not isinstance(data, dict):
        f.error(1, "bad front matter: expected settings such as 'title: …', one per line")
        data = None
    return data, "\n".join(lines[end + 1:]).strip("\n") + "\n", end + 2


# ---------------------------------------------------------------- reading the folder

@dataclass
class ModuleData:
    position: int
    file: str
    title: str
    goals: str
    release_day: int
    resources: list[dict]


@dataclass
class EmailData:
    key: str
    file: str
    subject: str
    body: str
    module: int | None
    audience: dict
    schedule: Any  # mmooc.emails.timing.Schedule, or None for a triggered email
    trigger: str


@dataclass
class Folder:
    course: dict
    modules: list[ModuleData]
    emails: list[EmailData]


def read_folder(path: str | Path) -> Folder:
    """Everything in the folder, checked; FolderError listing every problem otherwise."""
    root = Path(path)
    problems: list[str] = []
    if not (root / COURSE_FILE).is_file():
        raise FolderError([f"{COURSE_FILE}:1: missing: a course folder needs a {COURSE_FILE} file "
                           f"(looked in {root})"])
    course = _read_course(root, problems)
    modules = _read_modules(root, problems)
    emails = _read_emails(root, problems, course, {m.position for m in modules})
    if problems:
        raise FolderError(problems)
    return Folder(course, modules, emails)


def _text(root: Path, name: str, f: _File) -> str | None:
    path = root / name
    if path.stat().st_size > MAX_FILE_BYTES:
        f.error(0, f"the file is larger than {MAX_FILE_BYTES // 1000} kB")
        return None
    try:
        return path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        f.error(0, "the file is not UTF-8 text")
        return None


def _unknown_keys(data: dict, allowed: set[str], f: _File, where: str = "") -> None:
    for key in data:
        if key not in allowed:
            f.error(data.lines[key], f"unknown key {key!r}{where}; expected {', '.join(sorted(allowed))}")


def _string(data: dict, key: str, f: _File, *, required: bool = False, max_length: int = 0) -> str:
    value = data.get(key)
    line = data.lines.get(key, data.line)
    if value is None or value == "":
        if required:
            f.error(line if key in data else data.line, f"{key}: is required")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        f.error(line, f"{key}: expected text")
        return ""
    if max_length and len(value) > max_length:
        f.error(line, f"{key}: at most {max_length} characters")
    return value


def _url(value: Any, f: _File, line: int, what: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(str(value))
    except ValidationError:
        f.error(line, f"{what}: {value!r} is not a web address (http:// or https://)")
        return ""
    return str(value)


def _int(data: dict, key: str, f: _File, default: int | None, minimum: int | None = None) -> int | None:
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
        low = f" of at least {minimum}" if minimum is not None else ""
        f.error(data.lines[key], f"{key}: expected a whole number{low}, got {value!r}")
        return default
    return value


def _read_course(root: Path, problems: list[str]) -> dict:
    f = _File(COURSE_FILE, problems)
    text = _text(root, COURSE_FILE, f)
    data = f.load(text) if text is not None else None
    if data is None:
        return {}
    if not isinstance(data, dict):
        f.error(0, "expected settings such as 'title: …', one per line")
        return {}
    _unknown_keys(data, COURSE_KEYS, f)
    course = {
        "slug": _string(data, "slug", f, required=True, max_length=60),
        "title": _string(data, "title", f, required=True, max_length=200),
        "summary": _string(data, "summary", f),
        "description": _string(data, "description", f),
        "group_intro": _string(data, "group_intro", f),
        "group_size": _int(data, "group_size", f, 40, minimum=2),
        "faq": _faq(data, f),
        "questions": _questions(data, f),
        "links": _links(data, f),
        **_organizer(data, f),
    }
    if course["slug"] and not SLUG.match(course["slug"]):
        f.error(data.lines["slug"], "slug: use lower-case letters, digits and dashes, e.g. gentle-python")
    return course


def _faq(data: dict, f: _File) -> list[dict]:
    items = data.get("faq")
    if not items:
        return []
    if not isinstance(items, list):
        f.error(data.lines["faq"], "faq: expected a list of question: / answer: pairs")
        return []
    faq = []
    for item, line in zip(items, items.lines, strict=True):
        if not isinstance(item, dict):
            f.error(line, "faq: each entry needs question: and answer:")
            continue
        _unknown_keys(item, {"question", "answer"}, f, " in faq")
        faq.append({"question": _string(item, "question", f, required=True),
                    "answer": _string(item, "answer", f, required=True).strip()})
    return faq


def _questions(data: dict, f: _File) -> list[dict]:
    items = data.get("questions")
    if not items:
        return []
    if not isinstance(items, list):
        f.error(data.lines["questions"], "questions: expected a list of signup questions")
        return []
    questions, seen = [], set()
    for item, line in zip(items, items.lines, strict=True):
        if not isinstance(item, dict):
            f.error(line, "questions: each question needs id:, label: and type:")
            continue
        _unknown_keys(item, QUESTION_KEYS, f, " in a question")
        qid = _string(item, "id", f, required=True, max_length=40)
        if qid in seen:
            f.error(item.lines["id"], f"questions: the id {qid!r} is used twice")
        seen.add(qid)
        kind = _string(item, "type", f) or "text"
        if kind not in QUESTION_TYPES:
            f.error(item.lines["type"], f"type: expected one of {', '.join(QUESTION_TYPES)}, got {kind!r}")
        choices = item.get("choices") or []
        if kind in ("single", "multiple") and (not isinstance(choices, list) or not choices):
            f.error(item.lines.get("choices", item.line), f"choices: a {kind} question needs a list of choices")
            choices = []
        question = {"id": qid, "label": _string(item, "label", f, required=True), "type": kind,
                    "required": bool(item.get("required", False))}
        if kind in ("single", "multiple"):
            question["choices"] = [str(c) for c in choices]
        questions.append(question)
    return questions


def _links(data: dict, f: _File) -> dict:
    links = data.get("links") or {}
    if not isinstance(links, dict):
        f.error(data.lines["links"], "links: expected name: address pairs, e.g. forum: https://…")
        return {}
    return {str(k): _url(v, f, links.lines[k], f"links: {k}") for k, v in links.items()}


def _organizer(data: dict, f: _File) -> dict:
    org = data.get("organizer")
    if not org:
        return {"organizer_name": "", "organizer_email": "", "postal_line": ""}
    if not isinstance(org, dict):
        f.error(data.lines["organizer"], "organizer: expected name:, email: and postal:")
        return {}
    _unknown_keys(org, ORGANIZER_KEYS, f, " in organizer")
    email = _string(org, "email", f)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            f.error(org.lines["email"], f"organizer email: {email!r} is not a valid address")
    return {"organizer_name": _string(org, "name", f, max_length=200), "organizer_email": email,
            "postal_line": _string(org, "postal", f, max_length=300)}


def _files(root: Path, folder: str) -> list[str]:
    directory = root / folder
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def _read_modules(root: Path, problems: list[str]) -> list[ModuleData]:
    modules, numbered = [], []
    for name in _files(root, "modules"):
        f = _File(f"modules/{name}", problems)
        match = MODULE_NAME.match(name)
        if not match:
            f.error(0, "module files are named NN-name.md, e.g. 01-getting-started.md")
            continue
        numbered.append((int(match.group(1)), name))
    seen: dict[int, str] = {}
    expected = 1
    for number, name in numbered:
        f = _File(f"modules/{name}", problems)
        if number in seen:
            f.error(0, f"module {number} is already modules/{seen[number]}")
            continue
        if number != expected:
            missing = ", ".join(str(n) for n in range(expected, number)) or str(expected)
            f.error(0, f"module {missing} is missing: modules are numbered 1, 2, 3, … without gaps")
        seen[number] = name
        expected = number + 1
        module = _read_module(root, name, number, f)
        if module:
            modules.append(module)
    return modules


def _read_module(root: Path, name: str, number: int, f: _File) -> ModuleData | None:
    text = _text(root, f"modules/{name}", f)
    parts = _split_front_matter(text, f) if text is not None else None
    if parts is None or parts[0] is None:
        return None
    data, body, _ = parts
    f.first_line = 2
    _unknown_keys(data, MODULE_KEYS, f)
    title = _string(data, "title", f, required=True, max_length=200)
    release_day = _int(data, "release_day", f, 7 * (number - 1))
    resources = _resources(data, f)
    f.first_line = 1
    return ModuleData(number, f.name, title, body.strip(), release_day or 0, resources)


def _resources(data: dict, f: _File) -> list[dict]:
    items = data.get("resources")
    if not items:
        return []
    if not isinstance(items, list):
        f.error(data.lines["resources"], "resources: expected a list")
        return []
    resources = []
    for item, line in zip(items, items.lines, strict=True):
        if not isinstance(item, dict):
            f.error(line, "resources: each resource needs title: and url:")
            continue
        _unknown_keys(item, RESOURCE_KEYS, f, " in a resource")
        title = _string(item, "title", f, required=True, max_length=300)
        if "url" not in item or not item["url"]:
            f.error(item.line, f"resource {title!r} has no url:")
            url = ""
        else:
            url = _url(item["url"], f, item.lines["url"], "url")
        kind = _string(item, "kind", f) or Resource.READING
        if kind not in RESOURCE_KINDS:
            f.error(item.lines["kind"], f"kind: expected one of {', '.join(RESOURCE_KINDS)}, got {kind!r}")
        download = _url(item["download"], f, item.lines["download"], "download") if item.get("download") else ""
        resources.append({"title": title, "url": url, "kind": kind,
                          "minutes": _int(item, "minutes", f, None, minimum=0), "download_url": download})
    return resources


def _read_emails(root: Path, problems: list[str], course: dict, positions: set[int]) -> list[EmailData]:
    emails = []
    for name in _files(root, "emails"):
        f = _File(f"emails/{name}", problems)
        if not EMAIL_NAME.match(name):
            f.error(0, "email files are named with letters, digits and dashes, ending in .md")
            continue
        email = _read_email(root / "emails" / name, f, course, positions)
        if email:
            emails.append(email)
    return emails


def _read_email(path: Path, f: _File, course: dict, positions: set[int]) -> EmailData | None:
    from mmooc.emails import audience as audiences
    from mmooc.emails import templating, timing

    name = path.name
    text = _text(path.parent, name, f)
    parts = _split_front_matter(text, f) if text is not None else None
    if parts is None or parts[0] is None:
        return None
    data, body, body_line = parts
    f.first_line = 2
    _unknown_keys(data, EMAIL_KEYS, f)
    subject = _string(data, "subject", f, required=True, max_length=300)
    if "\n" in subject or "\r" in subject:
        f.error(data.lines["subject"], "subject: must be on one line")
    module = _int(data, "module", f, None, minimum=1)
    if module is not None and module not in positions:
        f.error(data.lines["module"], f"module: there is no module {module} in modules/")
    try:
        audience = audiences.parse_audience(data.get("audience"), course.get("questions"))
    except audiences.AudienceError as exc:
        audience = {}
        f.error(data.lines.get("audience", data.line), f"audience: {exc}")
    schedule, trigger = _schedule(data, f, timing)
    links = list(course.get("links", {}))
    for problem in templating.validate(subject, links=links):
        f.error(data.lines.get("subject", 0), f"subject: {problem.message}")
    f.first_line = body_line
    if not body.strip():
        f.error(0, "the email has no text after the front matter")
    for problem in templating.validate(body, links=links):
        f.error(problem.line - 1, problem.message)
    f.first_line = 1
    return EmailData(name.removesuffix(".md"), f.name, subject, body, module, audience, schedule, trigger)


def _schedule(data: dict, f: _File, timing: Any) -> tuple[Any, str]:
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


# ---------------------------------------------------------------- applying it

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
        course = _apply_course(folder.course, report)
        modules = _apply_modules(course, folder.modules, report)
        if cohort is not None:
            from mmooc.emails.folder import apply_emails

            apply_emails(cohort, modules, folder.emails, report, actor)
        elif folder.emails:
            report.notes.append(f"{len(folder.emails)} emails not imported: name a cohort to import them into")
        if dry_run:
            transaction.set_rollback(True)
        elif not report.unchanged:
            from mmooc.audit.log import record

            record(actor, "course.imported", course, f"Imported the course folder of {course.slug}"
                   + (f" into {cohort.slug}" if cohort else ""), added=report.added, changed=report.changed,
                   removed=report.removed)
    return report


COURSE_FIELDS = ["title", "summary", "description", "group_intro", "group_size", "faq", "questions",
                 "links", "organizer_name", "organizer_email", "postal_line"]


def _apply_course(data: dict, report: ImportReport) -> Course:
    course = Course.objects.filter(slug=data["slug"]).first()
    if course is None:
        course = Course.objects.create(slug=data["slug"], **{k: data[k] for k in COURSE_FIELDS})
        report.added.append(f"course {course.slug}")
        return course
    changed = [k for k in COURSE_FIELDS if getattr(course, k) != data[k]]
    if changed:
        for k in changed:
            setattr(course, k, data[k])
        course.save(update_fields=changed)
        report.changed.append(f"course {course.slug}: {', '.join(changed)}")
    return course


def _apply_modules(course: Course, modules: list[ModuleData], report: ImportReport) -> dict[int, Module]:
    existing = {m.position: m for m in course.modules.prefetch_related("resources")}
    result = {}
    for data in modules:
        module = existing.pop(data.position, None)
        fields = {"title": data.title, "goals": data.goals, "release_offset_days": data.release_day}
        if module is None:
            module = Module.objects.create(course=course, position=data.position, **fields)
            _set_resources(module, data.resources)
            report.added.append(f"module {data.position}: {data.title}")
        else:
            changed = [k for k, v in fields.items() if getattr(module, k) != v]
            for k in changed:
                setattr(module, k, fields[k])
            if changed:
                module.save(update_fields=changed)
            if _resource_rows(module.resources.all()) != [_resource_row(r) for r in data.resources]:
                _set_resources(module, data.resources)
                changed.append("resources")
            if changed:
                report.changed.append(f"module {data.position}: {', '.join(changed)}")
        result[data.position] = module
    for position, module in existing.items():
        report.removed.append(f"module {position}: {module.title}")
        module.delete()
    return result


def _resource_row(r: dict) -> tuple:
    return (r["title"], r["url"], r["kind"], r["minutes"], r["download_url"])


def _resource_rows(resources: Any) -> list[tuple]:
    return [(r.title, r.url, r.kind, r.minutes, r.download_url) for r in resources]


def _set_resources(module: Module, resources: list[dict]) -> None:
    module.resources.all().delete()
    Resource.objects.bulk_create(Resource(module=module, position=i, **r) for i, r in enumerate(resources, 1))


# ---------------------------------------------------------------- writing a folder

class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def export_folder(course: Course, path: str | Path, cohort: Cohort | None = None) -> list[str]:
    """Write the course (and the cohort's emails) as a course folder; returns the files written."""
    root = Path(path)
    (root / "modules").mkdir(parents=True, exist_ok=True)
    written = [_write(root, COURSE_FILE, _dump(course_data(course)))]
    for module in course.modules.prefetch_related("resources"):
        name = f"modules/{module.position:02d}-{slugify(module.title)[:40] or 'module'}.md"
        written.append(_write(root, name, _front_matter(module_data(module), module.goals)))
    if cohort is not None:
        from mmooc.emails.folder import email_files

        for name, front, body in email_files(cohort):
            written.append(_write(root, f"emails/{name}", _front_matter(front, body)))
    return written


def _write(root: Path, name: str, text: str) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return name


def _front_matter(data: dict, body: str) -> str:
    return f"---\n{_dump(data)}---\n{body.strip()}\n"


def course_data(course: Course) -> dict:
    data: dict[str, Any] = {"slug": course.slug, "title": course.title}
    for key in ("summary", "description"):
        if getattr(course, key):
            data[key] = getattr(course, key)
    if course.faq:
        data["faq"] = [{"question": q["question"], "answer": q["answer"]} for q in course.faq]
    if course.questions:
        data["questions"] = course.questions
    data["group_size"] = course.group_size
    organizer = {"name": course.organizer_name, "email": course.organizer_email, "postal": course.postal_line}
    if any(organizer.values()):
        data["organizer"] = {k: v for k, v in organizer.items() if v}
    if course.links:
        data["links"] = course.links
    if course.group_intro:
        data["group_intro"] = course.group_intro
    return data


def module_data(module: Module) -> dict:
    resources = []
    for r in module.resources.all():
        item: dict[str, Any] = {"title": r.title, "url": r.url, "kind": r.kind}
        if r.minutes is not None:
            item["minutes"] = r.minutes
        if r.download_url:
            item["download"] = r.download_url
        resources.append(item)
    return {"title": module.title, "release_day": module.release_offset_days, "resources": resources}


def read_email_file(path: str | Path, course: Course) -> EmailData:
    """One email file in the course-folder format, checked against the course; FolderError if bad."""
    path = Path(path)
    problems: list[str] = []
    f = _File(path.name, problems)
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
