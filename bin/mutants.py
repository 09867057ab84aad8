"""Mutation testing of the modules that matter most: do their app's tests notice a small change?

    bin/dev mutants                      a sample of 12 mutants per module (same seed, same sample)
    bin/dev mutants --per-module 0       every mutant of every module (about 1,500)
    bin/dev mutants mmooc/mailer/engine.py --list       the mutants of one module, not run
    bin/dev mutants mmooc/mailer/engine.py --show 12    one mutant, as a diff

A mutant is one small change to one module, made in its syntax tree: a comparison negated
or moved by one (`<` to `>=` or `<=`), a condition negated or removed, `and`/`or` swapped or
one of their operands dropped, `not` dropped, `min`/`max` swapped, a constant changed
(`True`/`False`, a number plus one), an arithmetic operator swapped, or one statement
removed (a call, `x += …`, `obj.attr = …`, `d[k] = …`, `raise`, `break`, `continue`). Only
code inside functions is changed; docstrings, logging calls, f-strings, `assert`s and lines
marked `pragma: no cover` are left alone.

The run preloads the libraries the tests need, then forks one child per mutant, which
imports the changed module in place of its file (nothing is written to the source tree)
and runs its app's tests on SQLite with `-x`, the test files that name the module first,
so a killed mutant stops at its first failing test. A mutant is killed when a test fails
or the run passes three times the unchanged run's time, survived when every test passes.
Survivors are printed as `file:line: change`, then the kill rate per module and overall;
the command fails when the overall rate is under --fail-under (95 %). Survivors listed in
bin/mutants-equivalent.txt (equivalent mutants: the same behaviour) are printed apart and
left out of the rate. See docs/testing.md.
"""

from __future__ import annotations

import argparse
import ast
import importlib.abc
import importlib.util
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = 12  # mutants per module in a default run: minutes, not an hour


@dataclass(frozen=True)
class Target:
    path: str  # the module, relative to the repository
    functions: frozenset[str] = frozenset()  # only these functions (and methods); empty = all
    optional: bool = False  # a module that may not exist (yet)

    @property
    def tests(self) -> Path:
        """Its app's tests: mmooc/<app>/tests."""
        return ROOT / Path(self.path).parts[0] / Path(self.path).parts[1] / "tests"

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


# The relay's checks: who may post, who gets copies, and who is told about a refusal.
RELAY_CHECKS = frozenset({"_outcome", "_reasons", "_checked", "_drop", "_refuse", "group_members",
                          "_first_member", "member_recipients", "send_notice", "_may_notify", "find_group"})

TARGETS = [
    Target("mmooc/mailer/engine.py"),
    Target("mmooc/mailer/outbox.py"),
    Target("mmooc/mailer/transports.py"),
    Target("mmooc/lists/inbound.py"),
    Target("mmooc/lists/relay.py", RELAY_CHECKS),
    Target("mmooc/learners/links.py"),
    Target("mmooc/learners/registration.py"),
    Target("mmooc/learners/lifecycle.py", optional=True),
    Target("mmooc/groups/grouping.py"),
    Target("mmooc/emails/timing.py"),
]


# --- making mutants ------------------------------------------------------------------------

@dataclass(frozen=True)
class Mutant:
    path: str
    index: int  # the n-th mutation site of the module, in a fixed walk of its syntax tree
    line: int
    change: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.change}"


NEGATED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
ARITHMETIC: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult}
SYMBOL = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in",
          ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-", ast.Mult: "*",
          ast.Div: "/", ast.FloorDiv: "//"}
LOGGERS = {"log", "logger", "logging", "warnings"}


def _short(node: ast.AST, width: int = 60) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _is_log_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id in LOGGERS)


Change = tuple[str, Callable[[], ast.AST]]


class Mutator(ast.NodeTransformer):
    """Walks a module; at mutation site number `target` it makes the change (-1: none, only count)."""

    def __init__(self, target: int, functions: frozenset[str], skip_lines: set[int]) -> None:
        self.target = target
        self.functions = functions
        self.skip_lines = skip_lines
        self.sites: list[tuple[int, str]] = []  # (line, change) of every site
        self.depth = 0  # how deep inside a function we are
        self.wanted = False  # inside a function chosen by `functions`
        self.applied: tuple[int, str] | None = None

    # where mutants may go

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        outer = self.wanted
        self.wanted = outer or not self.functions or node.name in self.functions
        self.depth += 1
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring stays
        node.body[len(node.body) - len(body):] = [self.visit(s) for s in body]
        self.depth -= 1
        self.wanted = outer
        return node  # decorators, defaults and annotations are left alone

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        return node  # asserts say what the types already say

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def _active(self, node: ast.AST) -> bool:
        return self.depth > 0 and self.wanted and getattr(node, "lineno", 0) not in self.skip_lines

    def _offer(self, node: ast.AST, changes: list[Change]) -> ast.AST:
        """Count each change as a site; make the one whose number is the target."""
        for text, make in changes:
            index = len(self.sites)
            self.sites.append((node.lineno, text))  # type: ignore[attr-defined]
            if index == self.target:
                self.applied = (node.lineno, text)  # type: ignore[attr-defined]
                return ast.copy_location(make(), node)
        return node

    # statements

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Call) and _is_log_call(node.value):
            return node
        node = self.generic_visit(node)  # type: ignore[assignment]
        if self._active(node) and isinstance(node.value, (ast.Call, ast.Await)):
            return self._offer(node, [(f"removed `{_short(node)}`", ast.Pass)])
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        return self._offer(node, [(f"removed `{_short(node)}`", ast.Pass)]) if self._active(node) else node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if self._active(node) and all(isinstance(t, (ast.Attribute, ast.Subscript)) for t in node.targets):
            return self._offer(node, [(f"removed `{_short(node)}`", ast.Pass)])
        return node

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        return self._offer(node, [(f"removed `{_short(node)}`", ast.Pass)]) if self._active(node) else node

    def visit_Break(self, node: ast.Break) -> ast.AST:
        return self._offer(node, [("removed `break`", ast.Pass)]) if self._active(node) else node

    def visit_Continue(self, node: ast.Continue) -> ast.AST:
        return self._offer(node, [("removed `continue`", ast.Pass)]) if self._active(node) else node

    def _condition(self, node: ast.If | ast.While | ast.IfExp, keyword: str) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if not self._active(node):
            return node
        test = node.test
        changes: list[Change] = []
        if not isinstance(test, (ast.Compare, ast.UnaryOp, ast.BoolOp, ast.Constant)):
            changes.append((f"`{keyword} {_short(test)}` → `{keyword} not …`",
                            lambda: self._with_test(node, ast.UnaryOp(ast.Not(), test))))
        if not isinstance(node, ast.While) and not isinstance(test, ast.Constant):
            changes.append((f"`{keyword} {_short(test)}` → `{keyword} True` (condition removed)",
                            lambda: self._with_test(node, ast.Constant(True))))
        return self._offer(node, changes)

    @staticmethod
    def _with_test(node: ast.If | ast.While | ast.IfExp, test: ast.expr) -> ast.AST:
        copy = type(node)(**{f: getattr(node, f) for f in node._fields})
        copy.test = test
        return copy

    def visit_If(self, node: ast.If) -> ast.AST:
        return self._condition(node, "if")

    def visit_While(self, node: ast.While) -> ast.AST:
        return self._condition(node, "while")

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        return self._condition(node, "if")

    # expressions

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if not self._active(node):
            return node
        changes: list[Change] = []
        for i, op in enumerate(node.ops):
            for table in (NEGATED, BOUNDARY):
                other = table.get(type(op))
                if other is None:
                    continue
                text = f"`{_short(node)}`: `{SYMBOL[type(op)]}` → `{SYMBOL[other]}`"
                changes.append((text, lambda i=i, other=other: ast.Compare(  # type: ignore[misc]
                    node.left, [other() if j == i else o for j, o in enumerate(node.ops)], node.comparators)))
        return self._offer(node, changes)

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if not self._active(node):
            return node
        word, other = ("and", ast.Or) if isinstance(node.op, ast.And) else ("or", ast.And)
        changes: list[Change] = [(f"`{_short(node)}`: `{word}` → `{'or' if word == 'and' else 'and'}`",
                                  lambda: ast.BoolOp(other(), node.values))]
        for i, value in enumerate(node.values):
            rest = [v for j, v in enumerate(node.values) if j != i]
            changes.append((f"`{_short(node)}`: removed `{_short(value, 40)}`", self._without(node, rest)))
        return self._offer(node, changes)

    @staticmethod
    def _without(node: ast.BoolOp, rest: list[ast.expr]) -> Callable[[], ast.AST]:
        return lambda: rest[0] if len(rest) == 1 else ast.BoolOp(node.op, rest)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if self._active(node) and isinstance(node.op, ast.Not):
            return self._offer(node, [(f"`{_short(node)}` → `{_short(node.operand)}`", lambda: node.operand)])
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        other = ARITHMETIC.get(type(node.op))
        if not self._active(node) or other is None or isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, str):
            return node  # "text" + x and f-strings are words, not arithmetic
        text = f"`{_short(node)}`: `{SYMBOL[type(node.op)]}` → `{SYMBOL[other]}`"
        return self._offer(node, [(text, lambda: ast.BinOp(node.left, other(), node.right))])

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if _is_log_call(node):
            return node
        node = self.generic_visit(node)  # type: ignore[assignment]
        if self._active(node) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            other = "max" if node.func.id == "min" else "min"
            return self._offer(node, [(f"`{_short(node)}`: `{node.func.id}` → `{other}`",
                                       lambda: ast.Call(ast.Name(other, ast.Load()), node.args, node.keywords))])
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node  # text

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if not self._active(node):
            return node
        value = node.value
        where = _context(node)
        if isinstance(value, bool):
            return self._offer(node, [(f"{where}`{value}` → `{not value}`", lambda: ast.Constant(not value))])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self._offer(node, [(f"{where}`{value!r}` → `{value + 1!r}`", lambda: ast.Constant(value + 1))])
        return node


def _context(node: ast.AST) -> str:
    """The expression around a constant, so that two constants on one line read apart."""
    parent = getattr(node, "mutants_parent", None)
    while isinstance(parent, ast.UnaryOp):
        parent = getattr(parent, "mutants_parent", None)
    if isinstance(parent, ast.expr):
        return f"`{_short(parent, 40)}`: "
    return ""


def _skip_lines(source: str) -> set[int]:
    return {n for n, line in enumerate(source.splitlines(), 1) if "pragma: no cover" in line}


def mutate(target: Target, index: int) -> tuple[ast.Module, Mutator]:
    source = (ROOT / target.path).read_text()
    tree = ast.parse(source)
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child.mutants_parent = parent  # type: ignore[attr-defined]
    mutator = Mutator(index, target.functions, _skip_lines(source))
    tree = mutator.visit(tree)
    return ast.fix_missing_locations(tree), mutator


def mutants_of(target: Target) -> list[Mutant]:
    _, mutator = mutate(target, -1)
    return [Mutant(target.path, i, line, change) for i, (line, change) in enumerate(mutator.sites)]


# --- running mutants ------------------------------------------------------------------------
#
# The run preloads the libraries every test process needs (pytest, Django, Hypothesis, …),
# then forks one child per mutant: the child imports the project with the mutated module in
# place of the file and runs pytest; its exit status is the verdict. A fork costs a third of
# a fresh interpreter.

PRELOAD = ("pytest", "pytest_django", "xdist", "hypothesis", "time_machine", "django", "django.db.models",
           "django.test", "anymail", "aiosmtpd.controller", "psycopg", "markdown_it", "nh3", "css_inline",
           "icalendar", "pygal", "email_validator", "yaml", "idna", "feedparser", "waitress")


class _MutantLoader(importlib.abc.Loader):
    def __init__(self, code: CodeType) -> None:
        self.code = code

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: object) -> None:
        exec(self.code, module.__dict__)  # the mutated module, built from our own source


class _MutantFinder(importlib.abc.MetaPathFinder):
    """Imports the mutated module in place of its file."""

    def __init__(self, name: str, path: Path, code: CodeType) -> None:
        self.name, self.path, self.code = name, path, code

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        return importlib.util.spec_from_file_location(fullname, self.path, loader=_MutantLoader(self.code))


def _child(target: Target, index: int) -> int:
    """In the forked child: pytest on the app's tests with mutant `index` (-1: none) imported."""
    os.setsid()  # its own process group, so a timeout ends whatever the tests started
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if index >= 0:
        tree, _ = mutate(target, index)
        code = compile(tree, str(ROOT / target.path), "exec")
        sys.meta_path.insert(0, _MutantFinder(target.module, ROOT / target.path, code))
    from hypothesis import settings

    settings.register_profile("mutants", database=None)  # no examples carried from one mutant to the next
    settings.load_profile("mutants")
    return int(pytest.main(pytest_args(target), plugins=[_FilesInOrder(ordered_tests(target))]))


class _FilesInOrder:
    """Runs the test files in the order given (pytest-django puts tests without a database
    last, wherever their file is): the tests that name the module go first."""

    def __init__(self, files: list[str]) -> None:
        self.position = {str(ROOT / f): n for n, f in enumerate(files)}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda item: self.position.get(str(item.path), len(self.position)))


def ordered_tests(target: Target) -> list[str]:
    """The app's test files, those that name the module first: a mutant fails fast."""
    stem = Path(target.path).stem
    files = sorted(target.tests.rglob("test_*.py"))
    mentions = re.compile(rf"\b{re.escape(stem)}\b")

    def rank(f: Path) -> tuple[int, str]:
        if f.stem.startswith(f"test_{stem}"):
            return 0, f.name
        return (1 if mentions.search(f.read_text()) else 2), f.name

    return [str(f.relative_to(ROOT)) for f in sorted(files, key=rank)]


def pytest_args(target: Target) -> list[str]:
    # On PostgreSQL the tests marked postgres run too: they are what reads the code only
    # PostgreSQL runs (COPY, SKIP LOCKED, LISTEN/NOTIFY).
    on_postgres = os.environ.get("MMOOC_TEST_PASS") == "postgres"
    return ["-q", "-x", "-n", "0", "-p", "no:cacheprovider",
            "-m", "not browser" if on_postgres else "not browser and not postgres",
            "--hypothesis-seed=0", *ordered_tests(target)]


def _prepare_environment(postgres: str | None = None) -> None:
    for name in ("DATABASE_URL", "MMOOC_EMAIL_URL", "MMOOC_BASE_URL", "CI", "MMOOC_TEST_POSTGRES_URL"):
        os.environ.pop(name, None)
    os.environ.update(MMOOC_TEST_PASS="sqlite", MMOOC_DATA_DIR=str(ROOT / "var" / "test"),
                      PYTHONDONTWRITEBYTECODE="1")
    if postgres:
        os.environ.update(MMOOC_TEST_PASS="postgres", DATABASE_URL=postgres)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))  # this checkout's mmooc, even run from a copy of it
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a library missing here only costs its import in each child
            pass


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, timeout
    seconds: float


@dataclass
class _Running:
    job: Mutant
    pid: int
    started: float
    timeout: float


def run_all(jobs: list[tuple[Target, Mutant]], parallel: int, timeouts: dict[Path, float],
            report: Callable[[Outcome], None]) -> list[Outcome]:
    """Run every mutant, `parallel` at a time; `report` hears each outcome as it comes."""
    waiting = list(reversed(jobs))
    running: dict[int, _Running] = {}
    outcomes: list[Outcome] = []
    try:
        _run_all(waiting, running, outcomes, parallel, timeouts, report)
    finally:  # stopped (Ctrl-C, SIGTERM) or broken: no child is left running
        for r in running.values():
            os.killpg(r.pid, 9)
            os.waitpid(r.pid, 0)
    return outcomes


def _run_all(waiting: list[tuple[Target, Mutant]], running: dict[int, _Running], outcomes: list[Outcome],
             parallel: int, timeouts: dict[Path, float], report: Callable[[Outcome], None]) -> None:
    while waiting or running:
        while waiting and len(running) < parallel:
            target, mutant = waiting.pop()
            pid = os.fork()
            if pid == 0:
                code = 3
                try:
                    code = _child(target, mutant.index)
                finally:
                    os._exit(code)
            running[pid] = _Running(mutant, pid, time.monotonic(), timeouts[target.tests])
        pid, status = os.waitpid(-1, os.WNOHANG)
        now = time.monotonic()
        if pid == 0:
            for r in list(running.values()):
                if now - r.started > r.timeout:
                    os.killpg(r.pid, 9)
                    os.waitpid(r.pid, 0)
                    del running[r.pid]
                    outcomes.append(Outcome(r.job, "timeout", now - r.started))
                    report(outcomes[-1])
            time.sleep(0.05)
            continue
        r = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1, 2, 3):  # 4: usage error, 5: no tests, or a signal: the run itself is broken
            raise SystemExit(f"mutants: pytest could not run for {r.job} (exit {code})")
        # 1: a test failed; 2: interrupted (the mutant broke an import); 3: internal error.
        outcomes.append(Outcome(r.job, "survived" if code == 0 else "killed", now - r.started))
        report(outcomes[-1])


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stops the children too (run_all)
    parser = argparse.ArgumentParser(prog="bin/dev mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all the critical ones)")
    parser.add_argument("--per-module", type=int, default=SAMPLE, metavar="N",
                        help=f"run a sample of N mutants per module (default {SAMPLE}; 0: all of them)")
    parser.add_argument("--seed", type=int, default=21, help="the sample's seed (default 21)")
    parser.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="mutants run at once")
    parser.add_argument("--fail-under", type=float, default=95.0, help="least kill rate, in %% (default 95)")
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("--show", type=int, metavar="INDEX", help="print mutant INDEX of one module as a diff")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every mutant's outcome")
    parser.add_argument("--only", metavar="INDEX,...",
                        help="run only these mutants of one module (their indexes, as --list and --show give them)")
    parser.add_argument("--postgres", metavar="URL",
                        help="run the tests on the PostgreSQL server at URL, the tests marked postgres "
                             "included, one mutant at a time (for code only PostgreSQL runs)")
    args = parser.parse_args(argv)
    targets = _targets(args.modules)
    if args.show is not None:
        return _show(targets[0], args.show)
    if args.only:
        if len(targets) != 1:
            parser.error("--only needs exactly one module")
        try:
            wanted = {int(i) for i in args.only.split(",")}
        except ValueError:
            parser.error(f"--only takes mutant indexes separated by commas, not {args.only!r}")
        plan = {targets[0]: [m for m in mutants_of(targets[0]) if m.index in wanted]}
    else:
        plan = {t: _sample(mutants_of(t), args.per_module, args.seed) for t in targets}
    if args.postgres:
        args.jobs = 1  # the mutants' test runs would share one test database
    if args.list:
        for mutants in plan.values():
            for m in mutants:
                print(f"{m.index:5}  {m}")
        print(f"{sum(len(m) for m in plan.values())} mutants")
        return 0
    return _run(plan, args)


def _targets(modules: list[str]) -> list[Target]:
    if not modules:
        missing = [t.path for t in TARGETS if not t.optional and not (ROOT / t.path).exists()]
        if missing:
            raise SystemExit(f"mutants: listed modules not found (moved? update TARGETS in bin/mutants.py): {missing}")
        return [t for t in TARGETS if (ROOT / t.path).exists()]
    known = {t.path: t for t in TARGETS}
    return [known.get(m, Target(m)) for m in (str(Path(m)) for m in modules)]


def _sample(mutants: list[Mutant], n: int, seed: int) -> list[Mutant]:
    if not n or n >= len(mutants):
        return mutants
    return sorted(random.Random(f"{seed}:{mutants[0].path}").sample(mutants, n), key=lambda m: m.index)


def _run(plan: dict[Target, list[Mutant]], args: argparse.Namespace) -> int:
    total = sum(len(m) for m in plan.values())
    print(f"mutants: {total} mutants in {len(plan)} modules, {args.jobs} at a time", flush=True)
    _prepare_environment(args.postgres)
    timeouts = _baselines(plan)
    started = time.monotonic()
    done = 0

    def report(outcome: Outcome) -> None:
        nonlocal done
        done += 1
        if args.verbose or outcome.status == "survived":
            print(f"  [{done}/{total}] {outcome.status.upper():8} {outcome.mutant}  ({outcome.seconds:.0f} s)",
                  flush=True)

    jobs = [(t, m) for t, mutants in plan.items() for m in mutants]
    outcomes = run_all(jobs, args.jobs, timeouts, report)
    return _report(plan, outcomes, time.monotonic() - started, args.fail_under)


def _baselines(plan: dict[Target, list[Mutant]]) -> dict[Path, float]:
    """Each app's tests, unchanged, must pass; a mutant gets three times as long plus 60 s."""
    timeouts: dict[Path, float] = {}
    for target in plan:
        if target.tests in timeouts:
            continue
        name = target.tests.relative_to(ROOT)
        [outcome] = run_all([(target, Mutant(target.path, -1, 0, "none"))], 1, {target.tests: 3600.0},
                            lambda o: None)
        if outcome.status != "survived":
            raise SystemExit(f"mutants: the tests in {name} fail without any mutant "
                             f"(run: .venv/bin/pytest {name})")
        print(f"  baseline {name}: {outcome.seconds:.0f} s", flush=True)
        timeouts[target.tests] = 3 * outcome.seconds + 60
    return timeouts


def _show(target: Target, index: int) -> int:
    import difflib

    original = ast.unparse(ast.parse((ROOT / target.path).read_text())).splitlines()
    tree, mutator = mutate(target, index)
    if mutator.applied is None:
        raise SystemExit(f"mutants: no mutant {index} in {target.path}")
    print(f"{target.path}:{mutator.applied[0]}: {mutator.applied[1]}")
    sys.stdout.writelines(line + "\n" for line in difflib.unified_diff(
        original, ast.unparse(tree).splitlines(), target.path, f"{target.path} (mutant {index})", lineterm="", n=2))
    return 0


@dataclass
class Tally:
    killed: int = 0
    survived: int = 0
    timeout: int = 0
    equivalent: int = 0  # survived, and known to be equivalent: left out of the rate
    survivors: list[Mutant] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.killed + self.survived + self.timeout

    @property
    def rate(self) -> float:
        return 100.0 * (self.killed + self.timeout) / self.total if self.total else 100.0


EQUIVALENT_FILE = ROOT / "bin" / "mutants-equivalent.txt"


def equivalent_mutants() -> set[str]:
    """"path: change" of each mutant known to be equivalent (bin/mutants-equivalent.txt)."""
    if not EQUIVALENT_FILE.exists():
        return set()
    return {line.strip() for line in EQUIVALENT_FILE.read_text().splitlines()
            if line.strip() and not line.startswith(("#", " "))}


def _key(m: Mutant) -> str:
    return f"{m.path}: {m.change}"


def _report(plan: dict[Target, list[Mutant]], outcomes: list[Outcome], seconds: float, fail_under: float) -> int:
    known = equivalent_mutants()
    by_path = {t.path: Tally() for t in plan}
    overall = Tally()
    equivalent: list[Mutant] = []
    for o in outcomes:
        status = "equivalent" if o.status == "survived" and _key(o.mutant) in known else o.status
        for tally in (by_path[o.mutant.path], overall):
            setattr(tally, status, getattr(tally, status) + 1)
        if status == "survived":
            by_path[o.mutant.path].survivors.append(o.mutant)
        elif status == "equivalent":
            equivalent.append(o.mutant)
    print("\nSurviving mutants:" if overall.survived else "\nNo mutant survived.")
    for tally in by_path.values():
        for m in tally.survivors:
            print(f"  {m}")
    if equivalent:
        print(f"\nSurvived, known to be equivalent ({EQUIVALENT_FILE.relative_to(ROOT)}, not counted):")
        for m in equivalent:
            print(f"  {m}")
    print(f"\n{'module':40} {'mutants':>8} {'killed':>7} {'timeout':>8} {'survived':>9} {'equiv.':>7} {'rate':>7}")
    for path, t in [*by_path.items(), ("all", overall)]:
        print(f"{path:40} {t.total + t.equivalent:8} {t.killed:7} {t.timeout:8} {t.survived:9} {t.equivalent:7} "
              f"{t.rate:6.1f}%")
    print(f"\nkill rate {overall.rate:.1f} % ({overall.killed + overall.timeout} of {overall.total}; "
          f"{overall.equivalent} equivalent left out) in {seconds / 60:.1f} min")
    if overall.rate < fail_under:
        print(f"mutants: the kill rate is under {fail_under:g} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
