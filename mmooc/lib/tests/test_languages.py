from __future__ import annotations

import pytest
from django.utils import translation

from mmooc.lib import clock, languages


@pytest.mark.parametrize(("code", "expected"), [
    ("es", "es"), ("pt", "pt-br"), ("pt-BR", "pt-br"), ("ar", "ar"), ("fr", "en"), ("", "en"), ("zz-top", "en"),
])
def test_a_learner_language_reads_the_closest_translation(code, expected):
    assert languages.ui_language(code) == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("es-ES,es;q=0.9,en;q=0.8", "es"),
    ("pt-BR,pt;q=0.9", "pt"),
    ("xx,de;q=0.5,fr;q=0.9", "fr"),
    ("", "en"),
    ("x" * 5000, "en"),
    (";;;,,=q", "en"),
])
def test_the_browser_language_picks_an_offered_one(header, expected):
    offered = ["en", "es", "fr", "de", "pt", "ar"]
    assert languages.preferred(header, offered) == expected


def test_dates_follow_the_active_language():
    from datetime import UTC, date, datetime

    day = date(2026, 11, 25)
    assert clock.day(day) == "Wednesday 25 November 2026"
    with translation.override("es"):
        assert clock.day(day) == "miércoles, 25 de noviembre de 2026"
        assert clock.plain_day(day) == "25 de noviembre de 2026"
    with translation.override("pt-br"):
        assert "novembro" in clock.day(day).lower()
    with translation.override("ar"):
        assert "نوفمبر" in clock.day(day)
    assert clock.moment(datetime(2026, 11, 25, 9, 0, tzinfo=UTC), "UTC") == "Wed 25 Nov 2026, 09:00"
