"""A course kept as files in git: course.yaml and modules/NN-name.md.

    course.yaml                 slug, title, summary, description, faq, questions,
                                group_size, organizer {name, email, postal}, links, group_intro
    modules/01-name.md          front matter: title, release_day, resources; body: the goals

The readers check everything and report every problem as `file:line: message`; the
appliers make the database match. A whole folder (with a cohort's emails, read by
`emails.folder`) is imported and exported by `mmooc.site.folders`. The format is
described for course authors in docs/course-authors.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.text import slugify

from mmooc.courses.models import Course, Module, Resource
from mmooc.lib import folderfiles as ff
from mmooc.lib.folderfiles import SLUG, File, ImportReport, Map, Seq

COURSE_FILE = "course.yaml"
COURSE_KEYS = {"slug", "title", "summary", "description", "faq", "questions", "group_size",
               "organizer", "links", "group_intro"}
ORGANIZER_KEYS = {"name", "email", "postal"}
QUESTION_KEYS = {"id", "label", "type", "choices", "required"}
QUESTION_TYPES = ("text", "single", "multiple", "yesno")
MODULE_KEYS = {"title", "release_day", "resources"}
RESOURCE_KEYS = {"title", "url", "kind", "minutes", "download"}
RESOURCE_KINDS = [k for k, _ in Resource.KINDS]
MODULE_NAME = re.compile(r"^(\d{1,3})-[A-Za-z0-9_-]+\.md$")


@dataclass
class ModuleData:
    position: int
    file: str
    title: str
    goals: str
    release_day: int
    resources: list[dict[str, Any]]


def read_course(root: Path, problems: list[str]) -> dict[str, Any]:
    f = File(COURSE_FILE, problems)
    text = ff.text(root, COURSE_FILE, f)
    data = f.load(text) if text is not None else None
    if data is None:
        return {}
    if not isinstance(data, Map):
        f.error(0, "expected settings such as 'title: …', one per line")
        return {}
    ff.unknown_keys(data, COURSE_KEYS, f)
    course = {
        "slug": ff.string(data, "slug", f, required=True, max_length=60),
        "title": ff.string(data, "title", f, required=True, max_length=200),
        "summary": ff.string(data, "summary", f),
        "description": ff.string(data, "description", f),
        "group_intro": ff.string(data, "group_intro", f),
        "group_size": ff.integer(data, "group_size", f, 40, minimum=2),
        "faq": _faq(data, f),
        "questions": _questions(data, f),
        "links": _links(data, f),
        **_organizer(data, f),
    }
    if course["slug"] and not SLUG.match(course["slug"]):
        f.error(data.lines["slug"], "slug: use lower-case letters, digits and dashes, e.g. gentle-python")
    return course


def _faq(data: Map, f: File) -> list[dict[str, Any]]:
    items = data.get("faq")
    if not items:
        return []
    if not isinstance(items, Seq):
        f.error(data.lines["faq"], "faq: expected a list of question: / answer: pairs")
        return []
    faq = []
    for item, line in zip(items, items.lines, strict=True):
        if not isinstance(item, Map):
            f.error(line, "faq: each entry needs question: and answer:")
            continue
        ff.unknown_keys(item, {"question", "answer"}, f, " in faq")
        faq.append({"question": ff.string(item, "question", f, required=True),
                    "answer": ff.string(item, "answer", f, required=True).strip()})
    return faq


def _questions(data: Map, f: File) -> list[dict[str, Any]]:
    items = data.get("questions")
    if not items:
        return []
    if not isinstance(items, Seq):
        f.error(data.lines["questions"], "questions: expected a list of signup questions")
        return []
    questions, seen = [], set()
    for item, line in zip(items, items.lines, strict=True):
        if not isinstance(item, Map):
            f.error(line, "questions: each question needs id:, label: and type:")
            continue
        ff.unknown_keys(item, QUESTION_KEYS, f, " in a question")
        qid = ff.string(item, "id", f, required=True, max_length=40)
        if qid in seen:
            f.error(item.lines["id"], f"questions: the id {qid!r} is used twice")
        seen.add(qid)
        kind = ff.string(item, "type", f) or "text"
        if kind not in QUESTION_TYPES:
            f.error(item.lines["type"], f"type: expected one of {', '.join(QUESTION_TYPES)}, got {kind!r}")
        choices = item.get("choices") or []
        if kind in ("single", "multiple") and (not isinstance(choices, list) or not choices):
            f.error(item.lines.get("choices", item.line), f"choices: a {kind} question needs a list of choices")
            choices = []
        question = {"id": qid, "label": ff.string(item, "label", f, required=True), "type": kind,
                    "required": bool(item.get("required", False))}
        if kind in ("single", "multiple"):
            question["choices"] = [str(c) for c in choices]
        questions.append(question)
    return questions


def _links(data: Map, f: File) -> dict[str, Any]:
    links = data.get("links")
    if not links:
        return {}
    if not isinstance(links, Map):
        f.error(data.lines["links"], "links: expected name: address pairs, e.g. forum: https://…")
        return {}
    return {str(k): ff.url(v, f, links.lines[k], f"links: {k}") for k, v in links.items()}


def _organizer(data: Map, f: File) -> dict[str, Any]:
    org = data.get("organizer")
    if not org:
        return {"organizer_name": "", "organizer_email": "", "postal_line": ""}
    if not isinstance(org, Map):
        f.error(data.lines["organizer"], "organizer: expected name:, email: and postal:")
        return {}
    ff.unknown_keys(org, ORGANIZER_KEYS, f, " in organizer")
    email = ff.string(org, "email", f)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            f.error(org.lines["email"], f"organizer email: {email!r} is not a valid address")
    return {"organizer_name": ff.string(org, "name", f, max_length=200), "organizer_email": email,
            "postal_line": ff.string(org, "postal", f, max_length=300)}


def module_numbers(root: Path) -> set[int]:
    """The module numbers the folder's file names give, whether or not each file reads well:
    an email of a module whose file has a problem is not reported as well."""
    return {int(m.group(1)) for name in ff.files(root, "modules") if (m := MODULE_NAME.match(name))}


def read_modules(root: Path, problems: list[str]) -> list[ModuleData]:
    modules, numbered = [], []
    for name in ff.files(root, "modules"):
        f = File(f"modules/{name}", problems)
        match = MODULE_NAME.match(name)
        if not match:
            f.error(0, "module files are named NN-name.md, e.g. 01-getting-started.md")
            continue
        numbered.append((int(match.group(1)), name))
    seen: dict[int, str] = {}
    expected = 1
    for number, name in numbered:
        f = File(f"modules/{name}", problems)
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


def _read_module(root: Path, name: str, number: int, f: File) -> ModuleData | None:
    text = ff.text(root, f"modules/{name}", f)
    parts = ff.split_front_matter(text, f) if text is not None else None
    if parts is None or parts[0] is None:
        return None
    data, body, _ = parts
    f.first_line = 2
    ff.unknown_keys(data, MODULE_KEYS, f)
    title = ff.string(data, "title", f, required=True, max_length=200)
    release_day = ff.integer(data, "release_day", f, 7 * (number - 1))
    resources = _resources(data, f)
    f.first_line = 1
    return ModuleData(number, f.name, title, body.strip(), release_day or 0, resources)


def _resources(data: Map, f: File) -> list[dict[str, Any]]:
    items = data.get("resources")
    if not items:
        return []
    if not isinstance(items, Seq):
        f.error(data.lines["resources"], "resources: expected a list")
        return []
    resources = []
    for item, line in zip(items, items.lines, strict=True):
        if not isinstance(item, Map):
            f.error(line, "resources: each resource needs title: and url:")
            continue
        ff.unknown_keys(item, RESOURCE_KEYS, f, " in a resource")
        title = ff.string(item, "title", f, required=True, max_length=300)
        if "url" not in item or not item["url"]:
            f.error(item.line, f"resource {title!r} has no url:")
            url = ""
        else:
            url = ff.url(item["url"], f, item.lines["url"], "url")
        kind = ff.string(item, "kind", f) or Resource.READING
        if kind not in RESOURCE_KINDS:
            f.error(item.lines["kind"], f"kind: expected one of {', '.join(RESOURCE_KINDS)}, got {kind!r}")
        download = ff.url(item["download"], f, item.lines["download"], "download") if item.get("download") else ""
        resources.append({"title": title, "url": url, "kind": kind,
                          "minutes": ff.integer(item, "minutes", f, None, minimum=0), "download_url": download})
    return resources


COURSE_FIELDS = ["title", "summary", "description", "group_intro", "group_size", "faq", "questions",
                 "links", "organizer_name", "organizer_email", "postal_line"]


def apply_course(data: dict[str, Any], report: ImportReport) -> Course:
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


def apply_modules(course: Course, modules: list[ModuleData], report: ImportReport) -> dict[int, Module]:
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


def _resource_row(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["title"], r["url"], r["kind"], r["minutes"], r["download_url"])


def _resource_rows(resources: Any) -> list[tuple]:
    return [(r.title, r.url, r.kind, r.minutes, r.download_url) for r in resources]


def _set_resources(module: Module, resources: list[dict[str, Any]]) -> None:
    module.resources.all().delete()
    Resource.objects.bulk_create(Resource(module=module, position=i, **r) for i, r in enumerate(resources, 1))


def course_data(course: Course) -> dict[str, Any]:
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


def module_data(module: Module) -> dict[str, Any]:
    resources = []
    for r in module.resources.all():
        item: dict[str, Any] = {"title": r.title, "url": r.url, "kind": r.kind}
        if r.minutes is not None:
            item["minutes"] = r.minutes
        if r.download_url:
            item["download"] = r.download_url
        resources.append(item)
    return {"title": module.title, "release_day": module.release_offset_days, "resources": resources}


def module_file(module: Module, names: Iterable[str]) -> str:
    """The module's file name: the one it was imported from (among `names`), else NN-title.md."""
    for name in names:
        match = MODULE_NAME.match(name.removeprefix("modules/")) if name.startswith("modules/") else None
        if match and int(match.group(1)) == module.position:
            return name
    return f"modules/{module.position:02d}-{slugify(module.title)[:80].strip('-') or 'module'}.md"


def made_files(course: Course, names: Iterable[str] | None = None) -> dict[str, str]:
    """What an export writes for the course and each module, before any file kept as imported;
    module files are named as imported (`names`, by default the kept files)."""
    names = list(course.folder_files or {}) if names is None else list(names)
    made = {COURSE_FILE: ff.dump(course_data(course))}
    for module in course.modules.prefetch_related("resources"):
        made[module_file(module, names)] = ff.front_matter(module_data(module), module.goals)
    return made


def write_course(course: Course, root: Path) -> list[str]:
    """Write course.yaml and modules/; returns the files written. A file whose course or module
    has not changed since it was imported is written exactly as it was imported."""
    (root / "modules").mkdir(parents=True, exist_ok=True)
    sources = course.folder_files or {}
    return [ff.write(root, name, ff.as_imported(sources, name, made)) for name, made in made_files(course).items()]
