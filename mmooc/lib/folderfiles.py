"""Reading and writing folders of text files kept in git: YAML with line numbers, front matter.

Every problem found is kept as `file:line: message` so that a whole folder is checked
before anything changes; `FolderError` carries them all. The course folder format (course
in `courses.folder`, emails in `emails.folder`) is built on these readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
MAX_FILE_BYTES = 1_000_000


class FolderError(ValueError):
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

class Map(dict[Any, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line = 0
    lines: dict[Any, int]


class Seq(list[Any]):
    """A YAML sequence that remembers its line and the line of each item."""

    line = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Map:
    loader.flatten_mapping(node)
    result = Map()
    result.line, result.lines = node.start_mark.line, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} appears twice",
                                                    key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Seq:
    result = Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line, result.lines = node.start_mark.line, [child.start_mark.line for child in node.value]
    return result


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
# Dates stay text: schedules are checked by our own reader, with our own messages.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]  # a timestamp node is a ScalarNode


class File:
    """Problems found in one file, each with its line number."""

    def __init__(self, name: str, problems: list[str], first_line: int = 1):
        self.name, self.problems, self.first_line = name, problems, first_line

    def error(self, mark_line: int, message: str) -> None:
        self.problems.append(f"{self.name}:{mark_line + self.first_line}: {message}")

    def load(self, text: str) -> Any:
        try:
            return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            self.error(mark.line if mark else 0, f"cannot read the YAML: {problem}")
            return None

    def has_problems(self) -> bool:
        return any(p.startswith(f"{self.name}:") for p in self.problems)


def split_front_matter(text: str, f: File) -> tuple[Any, str, int] | None:
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


def files(root: Path, folder: str) -> list[str]:
    """The names of the visible files in root/folder, sorted; none if it is not a folder."""
    directory = root / folder
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))


def text(root: Path, name: str, f: File) -> str | None:
    path = root / name
    if path.stat().st_size > MAX_FILE_BYTES:
        f.error(0, f"the file is larger than {MAX_FILE_BYTES // 1000} kB")
        return None
    try:
        return path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        f.error(0, "the file is not UTF-8 text")
        return None


def unknown_keys(data: Map, allowed: set[str], f: File, where: str = "") -> None:
    for key in data:
        if key not in allowed:
            f.error(data.lines[key], f"unknown key {key!r}{where}; expected {', '.join(sorted(allowed))}")


def string(data: Map, key: str, f: File, *, required: bool = False, max_length: int = 0) -> str:
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


def url(value: Any, f: File, line: int, what: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(str(value))
    except ValidationError:
        f.error(line, f"{what}: {value!r} is not a web address (http:// or https://)")
        return ""
    return str(value)


def integer(data: Map, key: str, f: File, default: int | None, minimum: int | None = None) -> int | None:
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
        low = f" of at least {minimum}" if minimum is not None else ""
        f.error(data.lines[key], f"{key}: expected a whole number{low}, got {value!r}")
        return default
    return value


# ---------------------------------------------------------------- writing

class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def front_matter(data: dict[str, Any], body: str) -> str:
    return f"---\n{dump(data)}---\n{lf(body).strip()}\n"


def lf(text: str) -> str:
    """Line ends as git keeps them in a course folder: LF only."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def write(root: Path, name: str, content: str) -> str:
    """Write root/name (creating its folder) with LF line ends; returns the name."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lf(content).encode("utf-8"))
    return name


def as_imported(sources: dict[str, Any], name: str, made: str) -> str:
    """The file `name` as it was imported if an export of it would still write `made` (nothing
    it describes changed since); otherwise `made`."""
    source = sources.get(name)
    text = source.get("text") if isinstance(source, dict) else None
    if isinstance(source, dict) and source.get("made") == made and isinstance(text, str):
        return text
    return made
