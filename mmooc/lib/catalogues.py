"""The message catalogues (mmooc/locale/<lang>/LC_MESSAGES/django.po): read, checked, compiled.

Pure Python, so a machine without GNU gettext still compiles them (`bin/dev messages`):

    entries = read(path)                       # every entry of a .po file
    missing(entries, learner_facing)           # msgids without a finished translation
    path.with_suffix(".mo").write_bytes(compile_mo(entries))

A .mo file is what Django reads; it is written in the layout GNU msgfmt writes (a header,
the sorted original and translated strings, no hash table), and is the same bytes for the
same .po file, so a test can tell that the committed .mo files are up to date.
"""

from __future__ import annotations

import ast
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "django"

# Files whose strings only staff read: their translations may wait (docs/translating.md).
STAFF_ONLY = ("dashboard/", "staff_", "mailer/", "site/", "audit/", "operations/",
              "groups/templates/groups/group_", "groups/templates/groups/grouping",
              "emails/templates/emails/compose", "emails/templates/emails/list",
              "emails/templates/emails/sending", "emails/templates/emails/module",
              "emails/templates/emails/variant", "emails/templates/emails/_plan", "emails/views.py",
              "emails/forms.py", "emails/variants.py",
              "emails/sending.py", "groups/views.py", "insights/templates/", "insights/views.py",
              "checkins/templates/checkins/checkins", "checkins/templates/checkins/_completion",
              "checkins/templates/checkins/_group_panel", "checkins/views.py", "api/", "hooks/",
              "groups/templates/groups/check_confirm", "groups/templates/groups/_check_held",
              "groups/templates/groups/_facilitators", "groups/facilitator_views.py",
              "lists/templates/lists/moderation", "lists/moderation_views.py")


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=lambda: [""])
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return not self.fuzzy and all(self.msgstr)

    @property
    def key(self) -> str:
        """The original as a .mo file stores it: context, EOT, msgid, NUL, plural."""
        key = self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"
        return key if self.msgid_plural is None else f"{key}\x00{self.msgid_plural}"


def _string(text: str) -> str:
    """One quoted .po string ("…" with C escapes) as text."""
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"not a quoted string: {text[:40]!r}")
    return str(ast.literal_eval(text))


def read(path: Path) -> list[Entry]:
    """The entries of a .po file, the header (msgid "") first; obsolete ones (#~) left out."""
    return parse(path.read_text(encoding="utf-8"))


def parse(text: str) -> list[Entry]:
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    flags: set[str] = set()
    refs: list[str] = []
    last = ""

    def finish() -> None:
        nonlocal fields, flags, refs
        if "msgid" in fields:
            plural = sorted((k for k in fields if k.startswith("msgstr[")), key=lambda k: int(k[7:-1]))
            entries.append(Entry(
                msgid=fields["msgid"], msgctxt=fields.get("msgctxt"), msgid_plural=fields.get("msgid_plural"),
                msgstr=[fields[k] for k in plural] if plural else [fields.get("msgstr", "")],
                flags=flags, references=refs))
        fields, flags, refs = {}, set(), []

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if "msgid" in fields and "msgid" != last:
                finish()
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith("#:"):
                refs += line[2:].split()
            continue
        if line.startswith('"'):
            fields[last] += _string(line)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in fields):
            finish()
        fields[keyword] = _string(rest)
        last = keyword
    finish()
    return entries


def compile_mo(entries: Iterable[Entry]) -> bytes:
    """A .mo file of the finished translations (and the header); fuzzy ones are left out, as msgfmt does."""
    pairs = sorted((e.key.encode(), "\x00".join(e.msgstr).encode())
                   for e in entries if (e.translated or e.msgid == "") and any(e.msgstr))
    count = len(pairs)
    originals_at = 7 * 4
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    table_o, table_t, blob = [], [], b""
    for original, _translation in pairs:
        table_o.append((len(original), data_at + len(blob)))
        blob += original + b"\x00"
    for _original, translation in pairs:
        table_t.append((len(translation), data_at + len(blob)))
        blob += translation + b"\x00"
    header = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, data_at)
    tables = b"".join(struct.pack("<2I", *p) for p in table_o + table_t)
    return header + tables + blob


def learner_facing(entry: Entry) -> bool:
    """Whether a learner may read the string: used anywhere but in files only staff see."""
    return any(not any(part in ref for part in STAFF_ONLY) for ref in entry.references) or not entry.references


def missing(entries: Iterable[Entry], wanted: Callable[[Entry], bool] = learner_facing) -> list[Entry]:
    """The wanted entries without a finished translation (empty or fuzzy)."""
    return [e for e in entries if e.msgid and wanted(e) and not e.translated]


def catalogues(locale_dir: Path = LOCALE_DIR) -> dict[str, Path]:
    """Each language's .po file, by its locale name (es, pt_BR, ar)."""
    return {p.parent.parent.name: p for p in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))}


def statistics(entries: list[Entry]) -> dict[str, int]:
    """Counts like msgfmt --statistics: translated, fuzzy, untranslated (header left out)."""
    real = [e for e in entries if e.msgid]
    fuzzy = sum(e.fuzzy for e in real)
    translated = sum(e.translated for e in real)
    return {"translated": translated, "fuzzy": fuzzy, "untranslated": len(real) - translated - fuzzy}
