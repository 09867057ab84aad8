"""Course email templates: validation with line numbers, and rendering once per email.

Staff write Django template syntax in Markdown (`{{ course.title }}`, `{% for r in
module.resources %}`). An email is rendered once, with the values every recipient shares;
the values that differ per learner are left as `{{ name }}` placeholders, which the mail
engine fills in for each copy. That is why per-learner values can only be printed as
they are (no filters, no `{% if %}` on them): they are not known when the template runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, Variable, VariableNode
from django.template.defaulttags import ForNode, IfNode, WithNode

# Values shared by every recipient of one email.
MESSAGE_VARIABLES = {
    "course.title": "The course title",
    "course.summary": "The course summary",
    "course.url": "The course's landing page",
    "course.organizer_name": "Who runs the course",
    "course.organizer_email": "The organizers' address",
    "cohort.title": "This run of the course, e.g. Spring 2027",
    "cohort.start_date": "The start date, e.g. Monday 5 April 2027",
    "cohort.end_date": "The end date",
    "cohort.timezone": "The cohort's time zone",
    "module.title": "The email's module: title, without a leading \"Week 2:\" that repeats its number",
    "module.full_title": "The module's title exactly as written",
    "module.position": "The module's number",
    "module.goals": "The module's goals (Markdown)",
    "module.release_date": "The day the module starts",
    "module.minutes": "The module's total time estimate, in minutes",
    "module.resources": "The module's resources, to loop over: r.title, r.url, r.kind, r.minutes, r.download",
    "links.<name>": "A course link from the course file, e.g. links.forum",
    "archive_url": "The archive of this cohort's emails",
    "email.url": "This email on the web, with no personal details (readable once sent)",
    "stage.phase": "Where the run stands when the email is written: before, during or after "
                   "(a welcome: on the learner's calendar when they confirm)",
    "stage.before": "True before the start date",
    "stage.during": "True from the start date to the end date",
    "stage.after": "True after the end date",
    "stage.week": "The week the run is in (1 is the first)",
    "stage.earlier": "The weeks before this one, to loop over: w.title, w.url (its email), w.date, w.position",
}
# Values filled in for each recipient.
LEARNER_VARIABLES = {
    "learner.first_name": "The learner's first name",
    "learner.name": "The learner's full name",
    "learner.page_url": "The learner's personal page (signed link)",
    "learner.timezone": "The learner's time zone",
    "group.name": "The learner's study group",
    "group.address": "The study group's email address",
    "group.size": "How many people are in the group",
    "group.note": "A sentence naming the learner's group, its address and how to write to it (or, for a "
                  "learner studying alone or waiting for a group, what to do); weekly emails end with it",
    "local.start": "The start date, course day 0 on the learner's own calendar",
    "local.module_release": "The day the email's module starts, on the learner's own calendar",
    "calendar_url": "The course calendar to subscribe to (iCalendar), with times in the learner's zone",
    "unsubscribe_url": "The learner's one-click unsubscribe link",
}
RESOURCE_FIELDS = {"title", "url", "kind", "minutes", "download"}
LOOP_FIELDS = {"counter", "counter0", "revcounter", "revcounter0", "first", "last", "parentloop"}
SEQUENCES = {"module.resources": RESOURCE_FIELDS, "stage.earlier": {"title", "url", "date", "position"}}

ENGINE = Engine(debug=True, autoescape=False, string_if_invalid="", libraries={})


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def placeholder(name: str) -> str:
    return "{{ " + name + " }}"


def learner_placeholders() -> dict[str, Any]:
    """The per-learner variables as nested dicts of `{{ name }}` placeholder strings."""
    return _nest({name: placeholder(name) for name in LEARNER_VARIABLES})


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, last = name.split(".")
        target = nested
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return nested


def validate(text: str, *, links: Iterable[str] | None = None) -> list[Problem]:
    """Every problem in a template: syntax errors, unknown variables, misused learner values."""
    try:
        template = ENGINE.from_string(text)
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        return [Problem(int(info.get("line", 1)), _syntax_message(exc))]
    checker = _Checker(set(links) if links is not None else None)
    checker.walk(template.nodelist, {})
    return sorted(checker.problems, key=lambda p: p.line)


def _syntax_message(exc: TemplateSyntaxError) -> str:
    text = str(exc)
    if text.startswith("Invalid block tag"):
        text = text.split(". Did you forget")[0]
    return f"template error: {text}"


class _Checker:
    def __init__(self, links: set[str] | None):
        self.links = links
        self.problems: list[Problem] = []

    def walk(self, nodelist: NodeList, scope: dict[str, set[str] | None]) -> None:
        for node in nodelist:
            self.node(node, scope)

    def node(self, node: Node, scope: dict[str, set[str] | None]) -> None:
        token = getattr(node, "token", None)
        line = token.lineno if token is not None and token.lineno is not None else 1
        if isinstance(node, VariableNode):
            self.expression(node.filter_expression, scope, line, plain=True)
            return
        if isinstance(node, ForNode):
            # The parser always gives a FilterExpression and NodeLists (the stubs allow str and list).
            sequence, loop, empty = node.sequence, node.nodelist_loop, node.nodelist_empty
            assert isinstance(sequence, FilterExpression) and isinstance(loop, NodeList)
            assert isinstance(empty, NodeList)
            self.expression(sequence, scope, line)
            fields = SEQUENCES.get(_name(sequence.var) or "")
            inner = {**scope, "forloop": LOOP_FIELDS, **{v: fields for v in node.loopvars}}
            self.walk(loop, inner)
            self.walk(empty, scope)
            return
        if isinstance(node, WithNode):
            for value in node.extra_context.values():
                self.expression(value, scope, line)
            self.walk(node.nodelist, {**scope, **{k: None for k in node.extra_context}})
            return
        for expr in _expressions(vars(node)):
            self.expression(expr, scope, line)
        if isinstance(node, IfNode):
            for _, nodelist in node.conditions_nodelists:
                self.walk(nodelist, scope)
            return
        for attr in node.child_nodelists:
            child = getattr(node, attr, None)
            if isinstance(child, NodeList):
                self.walk(child, scope)

    def expression(self, expr: FilterExpression | Variable, scope: dict, line: int, plain: bool = False) -> None:
        variables = [expr] if isinstance(expr, Variable) else _variables(expr)
        for variable in variables:
            self.variable(variable, scope, line, plain and isinstance(expr, FilterExpression)
                          and variable is expr.var and not expr.filters)

    def variable(self, variable: Variable, scope: dict, line: int, plain: bool) -> None:
        name = _name(variable)
        if name is None:
            return
        head, _, rest = name.partition(".")
        if head in scope:
            fields = scope[head]
            if fields is not None and rest and rest.split(".")[0] not in fields:
                self.add(line, f"unknown variable {name}: {head} has {', '.join(sorted(fields))}")
            return
        if name in LEARNER_VARIABLES:
            if not plain:
                self.add(line, f"{name} is filled in for each learner, so it can only be printed "
                               f"as {{{{ {name} }}}} (no filters, not inside tags)")
            return
        if self.known(name):
            return
        self.add(line, f"unknown variable {name}" + _suggestion(name))

    def known(self, name: str) -> bool:
        if name in MESSAGE_VARIABLES or name in ("course", "cohort", "module", "links", "email", "stage"):
            return True
        if name.startswith("links."):
            key = name.removeprefix("links.")
            return self.links is None or key in self.links
        return False

    def add(self, line: int, message: str) -> None:
        problem = Problem(line, message)
        if problem not in self.problems:
            self.problems.append(problem)


def _suggestion(name: str) -> str:
    if name.startswith("links."):
        return " (add it under links: in the course file)"
    head = name.split(".")[0]
    names = [n for n in (*MESSAGE_VARIABLES, *LEARNER_VARIABLES) if n.split(".")[0] == head]
    return f"; known: {', '.join(names)}" if names else ""


def _name(variable: Any) -> str | None:
    if isinstance(variable, Variable) and variable.lookups is not None:
        return ".".join(variable.lookups)
    return None


def _variables(expr: FilterExpression) -> list[Variable]:
    found = [expr.var] if isinstance(expr.var, Variable) else []
    for _func, args in expr.filters:
        found += [arg for lookup, arg in args if lookup and isinstance(arg, Variable)]
    return found


_SKIP = {"token", "origin"}


def _expressions(attrs: Mapping[str, Any], depth: int = 0) -> Iterator[FilterExpression | Variable]:
    """Expressions held by a tag node (if conditions, cycle values, …), not its child nodes."""
    if depth > 6:
        return
    for key, value in attrs.items():
        if key in _SKIP:
            continue
        yield from _expressions_in(value, depth)


def _expressions_in(value: Any, depth: int) -> Iterator[FilterExpression | Variable]:
    if isinstance(value, (FilterExpression, Variable)):
        yield value
    elif isinstance(value, (NodeList, Node, str, bytes, int, float)) or value is None:
        return
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _expressions_in(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _expressions_in(item, depth + 1)
    elif hasattr(value, "__dict__") and type(value).__module__.startswith("django.template"):
        yield from _expressions(vars(value), depth + 1)


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render a validated template with the shared values and learner placeholders."""
    values = {**learner_placeholders(), **context}
    return ENGINE.from_string(text).render(Context(values, autoescape=False))


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def personalize(text: str, values: Mapping[str, str]) -> str:
    """Fill `{{ name }}` placeholders as the mail engine does (for previews and tests)."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
