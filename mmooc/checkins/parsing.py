"""Reading a check-in from the text of a message: a pure function, no database.

    parse("DONE 3", "en")                    -> Parsed(DONE, 3, "")
    parse("stuck 3 recursion", "en")         -> Parsed(STUCK, 3, "recursion")
    parse("Hecho: semana 2!", "es")          -> Parsed(DONE, 2, "")
    parse("done", "en")                      -> Parsed(DONE, None, "")   (the current week)
    parse("Done with the homework…", "en")   -> None                      (an ordinary post)

Only the first line that is neither empty nor quoted ("> ") counts. DONE and SKIP stand
alone (a keyword, a week, punctuation); STUCK may name a short topic. English keywords are
understood in every language; each language adds its own (KEYWORDS: add a language there).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_lazy

DONE, STUCK, SKIP = "done", "stuck", "skip"
STATUSES = [(DONE, gettext_lazy("Done")), (STUCK, gettext_lazy("Stuck")), (SKIP, gettext_lazy("Skipped"))]

# keyword -> status, per language (lower case, without accents). English is always understood.
KEYWORDS: dict[str, dict[str, str]] = {
    "en": {"done": DONE, "stuck": STUCK, "skip": SKIP, "skipped": SKIP},
    "es": {"hecho": DONE, "listo": DONE, "lista": DONE, "atascado": STUCK, "atascada": STUCK, "salto": SKIP},
    "pt": {"feito": DONE, "feita": DONE, "travado": STUCK, "travada": STUCK, "pulei": SKIP},
}
# Words that may stand before the week's number ("DONE week 3", "HECHO semana 3").
WEEK_WORDS: dict[str, set[str]] = {
    "en": {"week", "wk", "w"},
    "es": {"semana", "sem", "s"},
    "pt": {"semana", "sem", "s"},
}
# Words that may stand before a STUCK topic ("stuck on recursion").
TOPIC_WORDS: dict[str, set[str]] = {
    "en": {"on", "with", "at", "in"},
    "es": {"en", "con"},
    "pt": {"em", "no", "na", "com"},
}

MAX_LINE = 160  # a longer first line is a post, not a check-in
MAX_TOPIC = 100
MAX_WEEK = 999
MAX_SCAN = 64 * 1024  # characters of the text looked at for the first line

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Parsed:
    status: str
    week: int | None  # None: the current week
    topic: str = ""


def first_line(text: str) -> str:
    """The first line that is neither empty nor quoted, stripped; "" if there is none."""
    for line in text[:MAX_SCAN].splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(">"):
            return stripped
    return ""


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _table(table: dict[str, set[str]], language: str) -> set[str]:
    return table["en"] | table.get(language, set())


def keywords(language: str) -> dict[str, str]:
    return {**KEYWORDS["en"], **KEYWORDS.get(_base(language), {})}


def _base(language: str) -> str:
    return (language or "en").lower().replace("_", "-").split("-")[0]


def parse(text: str, language: str = "en") -> Parsed | None:
    """The check-in of a message's text, or None when it is not one."""
    line = first_line(text)
    if not line or len(line) > MAX_LINE:
        return None
    return parse_line(line, language)


def parse_line(line: str, language: str = "en") -> Parsed | None:
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(line)]
    if not words:
        return None
    status = keywords(language).get(_plain(words[0][0]))
    if status is None or not _only_punctuation(line[:words[0][1]]):
        return None
    lang = _base(language)
    rest = words[1:]
    if rest and _plain(rest[0][0]) in _table(WEEK_WORDS, lang) and len(rest) > 1 and rest[1][0].isdigit():
        rest = rest[1:]
    week = None
    if rest and rest[0][0].isascii() and rest[0][0].isdigit():
        if len(rest[0][0]) > 3:
            return None
        week, rest = int(rest[0][0]), rest[1:]
    if not rest:
        return Parsed(status, week)
    if status != STUCK:
        return None  # "Done with the homework, anyone …" is a post
    if _plain(rest[0][0]) in _table(TOPIC_WORDS, lang) and len(rest) > 1:
        rest = rest[1:]
    topic = line[rest[0][1]:].strip().rstrip(".!?…").strip()
    if len(topic) > MAX_TOPIC:
        return None
    return Parsed(status, week, topic)


def _only_punctuation(text: str) -> bool:
    return not _WORD.search(text)
