"""The check-in line, read by a pure function: examples, then properties (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmooc.checkins.parsing import DONE, KEYWORDS, SKIP, STUCK, WEEK_WORDS, Parsed, parse


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("DONE 3", "en", Parsed(DONE, 3)),
    ("done", "en", Parsed(DONE, None)),
    ("Done: week 3!", "en", Parsed(DONE, 3)),
    ("done - 3", "en", Parsed(DONE, 3)),
    ("  SKIP 4  ", "en", Parsed(SKIP, 4)),
    ("STUCK 3 recursion", "en", Parsed(STUCK, 3, "recursion")),
    ("Stuck on recursion!", "en", Parsed(STUCK, None, "recursion")),
    ("stuck week 2: list comprehensions", "en", Parsed(STUCK, 2, "list comprehensions")),
    ("HECHO 2", "es", Parsed(DONE, 2)),
    ("Listo, semana 2.", "es", Parsed(DONE, 2)),
    ("atascado 3 recursión", "es", Parsed(STUCK, 3, "recursión")),
    ("Salto 4", "es", Parsed(SKIP, 4)),
    ("FEITO 1", "pt-BR", Parsed(DONE, 1)),
    ("travado 2 em funções", "pt", Parsed(STUCK, 2, "funções")),
    ("pulei 5", "pt", Parsed(SKIP, 5)),
    ("DONE 3", "es", Parsed(DONE, 3)),  # English is understood in every language
    ("\n\n> DONE 2\nDONE 3\n", "en", Parsed(DONE, 3)),
    ("DONE 3\n\nOn Monday Ana wrote:\n> STUCK 2\n", "en", Parsed(DONE, 3)),
])
def test_it_reads_a_check_in(text, language, expected):
    assert parse(text, language) == expected


@pytest.mark.parametrize("text", [
    "Done with the homework, anyone up for a call?",
    "Hi all,\nDONE 3\n",
    "> DONE 3\n",
    "",
    "DONE 12345",
    "HECHO 2",  # Spanish keywords for a Spanish speaker only
    "Skip the intro, it's long",
    "STUCK 3 " + "x" * 120,
    "don't know",
    "donE3",
])
def test_it_leaves_ordinary_posts_alone(text):
    assert parse(text, "en") is None


keyword_cases = st.sampled_from([(lang, word, status) for lang, table in KEYWORDS.items()
                                 for word, status in table.items()])
punct = st.text(alphabet=" :-!.,;", max_size=3)


def _cased(word: str, flips: list[bool]) -> str:
    return "".join(c.upper() if f else c for c, f in zip(word, flips + [False] * len(word), strict=False))


@given(keyword_cases, st.integers(1, 999), punct, punct, st.lists(st.booleans(), max_size=10), st.booleans())
def test_any_spelling_of_a_keyword_and_week_is_read(case, week, before, after, flips, week_word):
    language, word, status = case
    shown = _cased(word, flips)
    prefix = f"{sorted(WEEK_WORDS.get(language, WEEK_WORDS['en']))[-1]} " if week_word else ""
    assert parse(f"{before}{shown}{before} {prefix}{week}{after}", language) == Parsed(status, week)


@given(st.text(max_size=200), st.text(max_size=200), st.sampled_from(sorted(KEYWORDS)))
def test_quoted_lines_never_count(quoted, rest, language):
    lines = "\n".join("> " + line for line in quoted.splitlines() or [""])
    assert parse(lines, language) is None
    assert parse(lines + "\n" + rest, language) == parse(rest, language)


@given(st.text(max_size=500), st.sampled_from(["en", "es", "pt", "fr", "", "x" * 20]))
def test_it_never_fails_and_returns_a_week_in_range(text, language):
    found = parse(text, language)
    assert found is None or (found.week is None or 0 <= found.week <= 999) and len(found.topic) <= 100


@given(st.from_regex(r"[A-Za-z]{2,12}", fullmatch=True), st.text(max_size=80))
def test_a_line_not_starting_with_a_keyword_is_no_check_in(word, rest):
    if word.lower() in {w for table in KEYWORDS.values() for w in table}:
        return
    assert parse(f"{word} {rest}", "en") is None
