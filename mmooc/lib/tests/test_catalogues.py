"""The message catalogues: complete for learners in every shipped language, compiled and up to date."""

from __future__ import annotations

import gettext
import io

import pytest
from django.conf import settings

from mmooc.lib import catalogues

# A learner-facing string may wait for no language; "ar" is held to the learner pages too.
SHIPPED = ["es", "pt_BR", "ar"]

PO = r'''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

#: learners/templates/learners/page.html:3
msgid "My page"
msgstr "Mi página"

#: dashboard/templates/dashboard/home.html:3
msgid "Cohorts"
msgstr ""

#: learners/templates/learners/page.html:9
#, fuzzy
msgid "Preferences"
msgstr "Preferencia"

#: learners/templates/learners/landing.html:15
msgctxt "course"
msgid "Starts"
msgstr "Empieza el"

#: learners/templates/learners/page.html:35
msgid "%(n)s resource"
msgid_plural "%(n)s resources"
msgstr[0] "%(n)s recurso"
msgstr[1] ""
"%(n)s "
"recursos"

#: learners/mail.py:30
msgid ""
"Hello,\n"
"\"quoted\"\n"
msgstr ""
"Hola:\n"
"«citado»\n"

#~ msgid "Gone"
#~ msgstr "Ido"
'''


def _mo(data: bytes) -> gettext.GNUTranslations:
    return gettext.GNUTranslations(io.BytesIO(data))


def test_it_reads_contexts_plurals_continuations_and_escapes():
    entries = {e.key: e for e in catalogues.parse(PO)}
    assert entries["course\x04Starts"].msgstr == ["Empieza el"]
    assert entries["%(n)s resource\x00%(n)s resources"].msgstr == ["%(n)s recurso", "%(n)s recursos"]
    assert entries['Hello,\n"quoted"\n'].msgstr == ["Hola:\n«citado»\n"]
    assert entries["Preferences"].fuzzy
    assert "Gone" not in entries  # obsolete entries are left out


def test_a_missing_or_fuzzy_learner_string_is_reported_but_a_staff_one_may_wait():
    left = [e.msgid for e in catalogues.missing(catalogues.parse(PO))]
    assert left == ["Preferences"]
    everything = [e.msgid for e in catalogues.missing(catalogues.parse(PO), lambda e: True)]
    assert everything == ["Cohorts", "Preferences"]


def test_the_compiled_catalogue_reads_as_gettext_reads_a_mo_file():
    translations = _mo(catalogues.compile_mo(catalogues.parse(PO)))
    assert translations.gettext("My page") == "Mi página"
    assert translations.pgettext("course", "Starts") == "Empieza el"
    assert translations.ngettext("%(n)s resource", "%(n)s resources", 3) == "%(n)s recursos"
    assert translations.gettext("Preferences") == "Preferences"  # fuzzy: left out, as msgfmt does
    assert translations.gettext("Cohorts") == "Cohorts"


def test_every_language_offered_besides_english_has_a_catalogue():
    offered = {code for code, _name in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    names = {name.replace("_", "-").lower() for name in catalogues.catalogues()}
    assert offered <= names, offered - names


@pytest.mark.parametrize("language", SHIPPED)
def test_every_learner_facing_string_is_translated(language):
    entries = catalogues.read(catalogues.catalogues()[language])
    left = catalogues.missing(entries)
    listing = "\n".join(f"  {e.msgid[:70]!r} ({', '.join(e.references[:2])})" for e in left)
    assert not left, f"untranslated or fuzzy in {language} (run bin/dev messages):\n{listing}"


@pytest.mark.parametrize("language", SHIPPED)
def test_the_committed_mo_file_is_compiled_from_the_po_file(language):
    po = catalogues.catalogues()[language]
    committed = po.with_suffix(".mo")
    assert committed.is_file(), f"{committed} is missing: run bin/dev messages"
    assert committed.read_bytes() == catalogues.compile_mo(catalogues.read(po)), (
        f"{committed} is older than its .po file: run bin/dev messages --no-extract")


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_keep_every_placeholder(language):
    """A translation that drops or misspells `%(name)s` or `{{ name }}` would break a page or an email."""
    import re

    marks = re.compile(r"%\(\w+\)[sdr]|\{\{+ *[\w.]+ *\}+\}|\{\w+\}")
    for entry in catalogues.read(catalogues.catalogues()[language]):
        if not entry.msgid or not entry.translated:
            continue
        wanted = set(marks.findall(entry.msgid_plural or entry.msgid))
        for text in entry.msgstr[-1:]:  # the "other" form says the number
            assert set(marks.findall(text)) == wanted, (language, entry.msgid[:60], text[:60])


@pytest.mark.parametrize("reference", [
    "hooks/templates/hooks/index.html:3", "insights/templates/insights/health.html:5", "api/views.py:31",
    "api/templates/api/tokens.html:4", "checkins/templates/checkins/checkins.html:2", "emails/variants.py:113",
    "emails/templates/emails/variant.html:19", "learners/templates/learners/staff_list.html:17",
    "mailer/templates/mailer/outbox_list.html:6", "groups/staff_views.py:153"])
def test_a_string_only_staff_pages_use_may_wait(reference):
    assert not catalogues.learner_facing(catalogues.Entry(msgid="Saved.", references=[reference]))
    both = catalogues.Entry(msgid="Saved.", references=[reference, "learners/templates/learners/page.html:9"])
    assert catalogues.learner_facing(both)


@pytest.mark.parametrize("reference", ["checkins/templates/checkins/_learner_section.html:3",
                                       "emails/templates/emails/view.html:8", "emails/public_views.py:165",
                                       "lists/views.py:127", "learners/page_views.py:115"])
def test_a_string_a_learner_may_read_is_learner_facing(reference):
    assert catalogues.learner_facing(catalogues.Entry(msgid="Saved.", references=[reference]))
