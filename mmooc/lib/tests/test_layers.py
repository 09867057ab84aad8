"""The layer order of docs/architecture.md holds: no import in mmooc/ runs up the layers.

Every `import` and `from … import` in every module is read (those inside functions too).
A module may import its own app and the apps on lower lines of the order; apps on one
line do not import each other. Tests follow their app's line; `mmooc.testing` (the shared
test set-up) may be imported by any test and imports like a test itself.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "mmooc"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# Modules at the package's top that are no app: the project's plumbing, and test set-up.
PROJECT_MODULES = {"settings": "project", "urls": "project", "wsgi": "project", "cli": "project",
                   "testing": "testing"}


def layer_order() -> list[list[str]]:
    """The lines of the ```layers block in docs/architecture.md, top line first."""
    match = re.search(r"```layers\n(.*?)```", ARCHITECTURE.read_text(), re.S)
    assert match, "docs/architecture.md has no ```layers block"
    return [line.split("#")[0].split() for line in match.group(1).splitlines() if line.split("#")[0].strip()]


def levels() -> dict[str, int]:
    order = layer_order()
    return {app: len(order) - i for i, line in enumerate(order) for app in line}


def part_of(module: str) -> str:
    """'mmooc.groups.views' -> 'groups'; 'mmooc.urls' -> 'project'."""
    name = module.split(".")[1] if module.count(".") else ""
    return PROJECT_MODULES.get(name, name)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of mmooc.* in the file, however deep in the code."""
    found = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}" if base == "mmooc" else base) for alias in node.names]
    return [(line, name) for line, name in found if name.startswith("mmooc.")]


def is_test(path: Path) -> bool:
    return bool({"tests", "testing"} & set(path.relative_to(PACKAGE).parts))


def arrows() -> list[tuple[str, str, str]]:
    """(where, from part, to part) for each import that crosses from one part to another."""
    result = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # written by makemigrations, and only between models
        source = part_of(module_name(path))
        for line, name in imports(path):
            target = part_of(name)
            if target != source and not (target == "testing" and is_test(path)):
                result.append((f"{path.relative_to(ROOT)}:{line}", source, target))
    return result


def upward(arrows: list[tuple[str, str, str]], rank: dict[str, int]) -> list[str]:
    return [f"{where}: {source} imports {target}" for where, source, target in arrows
            if rank.get(target, 10**6) >= rank.get(source, -1)]


def test_every_part_of_the_package_has_a_line_in_the_order():
    parts = {part_of(module_name(p)) for p in PACKAGE.rglob("*.py")} - {"", "testing"}
    assert parts <= set(levels()), f"not in the layer order: {sorted(parts - set(levels()))}"


def test_no_import_runs_up_the_layers():
    rank = levels()
    rank["testing"] = max(rank.values())  # the shared test set-up may use every app
    assert upward(arrows(), rank) == []


@pytest.mark.parametrize(("source", "target", "allowed"), [
    ("groups", "learners", True), ("learners", "groups", False), ("emails", "lists", False),
    ("site", "dashboard", True), ("lib", "mailer", False), ("project", "site", True),
])
def test_the_rule_itself(source, target, allowed):
    rank = {"project": 7, "site": 6, "dashboard": 5, "emails": 4, "lists": 4, "groups": 3, "learners": 2,
            "mailer": 1, "lib": 0}
    assert (upward([("x.py:1", source, target)], rank) == []) is allowed
