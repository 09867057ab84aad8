"""Every page's words are marked for translation: a template's visible text is inside
{% translate %} or {% blocktranslate %}, so that `bin/dev messages` extracts it.

Staff pages count too (their translations may wait: see STAFF_ONLY in mmooc/lib/catalogues.py).
What is not a word to translate: numbers and punctuation, variables, HTML entities, code
(<code>, <pre>, <script>, <style>), names (KEEP), and the classes a template block writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmooc.lib import catalogues

MMOOC = Path(catalogues.__file__).resolve().parent.parent
KEEP = ("Mechanical MOOC", "UTC", "iCalendar")  # names, the same in every language
SKIP_ELEMENTS = {"script", "style", "code", "pre", "kbd", "samp", "textarea"}
ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
# Templates that are not pages: e-mail bodies written in Markdown, translated as whole files.
NOT_PAGES = ("emails/templates/emails/default_welcome", "emails/templates/emails/late_note")

TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}|<!--.*?-->|<[a-zA-Z/!](?:\{\{.*?\}\}|\{%.*?%\}|\"[^\"]*\"|[^>])*>",
                 re.S)
WORD = re.compile(r"[^\W\d_]")
ENTITY = re.compile(r"&#?\w+;")
ATTRIBUTE = re.compile(r'\b(?:' + "|".join(ATTRIBUTES) + r')="([^"{]*)"')


def untranslated(source: str) -> list[str]:
    """The visible text of a template that is outside translation tags."""
    found: list[str] = []
    skip_until: str | None = None
    elements: list[str] = []
    at = 0
    for match in [*TAG.finditer(source), None]:
        text = source[at:match.start() if match else len(source)]
        if not skip_until and not elements and WORD.search(re.sub("|".join(KEEP), "", ENTITY.sub("", text))):
            found.append(" ".join(text.split()))
        if match is None:
            break
        at, tag = match.end(), match.group()
        if skip_until:
            if re.match(skip_until, tag):
                skip_until = None
            continue
        if re.match(r"\{%\s*blocktrans(late)?\b", tag):
            skip_until = r"\{%\s*endblocktrans(late)?\s*%\}"
        elif re.match(r"\{%\s*(comment|verbatim)\b", tag):
            skip_until = r"\{%\s*end(comment|verbatim)\s*%\}"
        elif re.match(r"\{%\s*block\s+\w*class\w*\s*%\}", tag):
            skip_until = r"\{%\s*endblock"
        elif element := re.match(r"<(/?)(\w+)", tag):
            name = element.group(2).lower()
            if name in SKIP_ELEMENTS:
                if element.group(1) and elements and elements[-1] == name:
                    elements.pop()
                elif not element.group(1):
                    elements.append(name)
            for attribute in ATTRIBUTE.finditer(tag):
                if WORD.search(attribute.group(1)):
                    found.append(attribute.group())
        elif tag.startswith("{{"):
            found += [tag for _ in re.finditer(r'\|(?:default|yesno):"[^"]*[^\W\d_][^"]*"', tag)]
    return found


def _templates() -> list[str]:
    return sorted(str(p.relative_to(MMOOC)) for p in MMOOC.glob("**/templates/**/*.html")
                  if not str(p.relative_to(MMOOC)).startswith(NOT_PAGES))


def _staff(name: str) -> bool:
    return any(part in name for part in catalogues.STAFF_ONLY)


def test_the_scan_finds_text_outside_translation_tags_and_nothing_else():
    source = """{% extends "base.html" %}{% load i18n %}
{% block body_class %}staff{% endblock %}
<h1>{% translate "Outbox" %}</h1> <p>{% blocktranslate trimmed %}Every
message{% endblocktranslate %} · {{ n }} – 42 % &nbsp;</p>
<p>Sent to {{ n }} learners</p><input placeholder="address" title="{% translate "Why?" %}">
<code>mmooc serve</code><script>let label = "Save";</script>{{ when|default:"never" }} · Mechanical MOOC (UTC)"""
    assert untranslated(source) == ["Sent to", "learners", 'placeholder="address"', '{{ when|default:"never" }}']


def test_staff_pages_are_the_staff_only_files_of_the_catalogue_check():
    staff = [name for name in _templates() if _staff(name)]
    for name in ("mailer/templates/mailer/outbox_list.html", "dashboard/templates/dashboard/overview.html",
                 "insights/templates/insights/health.html", "hooks/templates/hooks/detail.html",
                 "api/templates/api/tokens.html", "learners/templates/learners/staff_list.html",
                 "checkins/templates/checkins/checkins.html", "emails/templates/emails/variant.html"):
        assert name in staff, name
    assert "learners/templates/learners/page.html" not in staff


@pytest.mark.parametrize("name", _templates())
def test_every_template_marks_its_words_for_translation(name):
    left = untranslated((MMOOC / name).read_text(encoding="utf-8"))
    assert not left, f"{name}: text outside {{% translate %}} (wrap it, then run bin/dev messages): {left}"
