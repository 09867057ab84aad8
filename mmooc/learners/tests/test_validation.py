from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from mmooc.learners import validation

QUESTIONS = [
    {"id": "level", "label": "Your level", "type": "single", "choices": ["new", "some"], "required": True},
    {"id": "tools", "label": "Tools", "type": "multiple", "choices": ["vim", "emacs"]},
    {"id": "why", "label": "Why?", "type": "text"},
    {"id": "mentor", "label": "Mentor others?", "type": "yesno"},
]


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@b", "a@@example.org", "a b@example.org",
                                 "<a@example.org>", "Ada <a@example.org>", "a@example..org"])
def test_it_refuses_malformed_addresses(raw):
    with pytest.raises(ValidationError):
        validation.clean_address(raw)


def test_it_refuses_an_oversized_address():
    with pytest.raises(ValidationError, match="too long"):
        validation.clean_address("a" * 250 + "@example.org")


def test_it_refuses_a_local_part_over_64_characters():
    with pytest.raises(ValidationError):
        validation.clean_address("a" * 65 + "@example.org")


def test_it_refuses_a_line_break_in_an_address():
    with pytest.raises(ValidationError, match="one line"):
        validation.clean_address("a@example.org\r\nBcc: b@example.org")


def test_it_converts_an_idn_domain_with_idna2008():
    assert validation.clean_address("ada@straße.de") == "ada@xn--strae-oqa.de"


def test_it_refuses_a_non_ascii_local_part_clearly():
    with pytest.raises(ValidationError, match="before the @"):
        validation.clean_address("jörg@example.org")


def test_it_keeps_the_case_of_the_local_part():
    assert validation.clean_address(" Ada@Example.ORG ") == "Ada@example.org"


@pytest.mark.parametrize("raw", ["Ada\r\nBcc: x@example.org", "Ada\nLovelace", "Ada\rX"])
def test_it_refuses_line_breaks_in_a_name(raw):
    with pytest.raises(ValidationError, match="one line"):
        validation.clean_name(raw)


def test_it_squeezes_spaces_in_a_name():
    assert validation.clean_name("  Ada   Lovelace ") == "Ada Lovelace"


def test_it_maps_the_name_chromium_reports_for_india():
    assert validation.clean_timezone("Asia/Calcutta") == "Asia/Kolkata"


@pytest.mark.parametrize("raw", ["Mars/Olympus", "", "../../etc/passwd", "UTC" * 40])
def test_it_refuses_unknown_time_zones(raw):
    with pytest.raises(ValidationError):
        validation.clean_timezone(raw)


def test_it_refuses_a_language_not_offered():
    with pytest.raises(ValidationError):
        validation.clean_language("klingon")


@pytest.mark.parametrize("zone,country", [("Asia/Kolkata", "IN"), ("Europe/Oslo", "NO"),
                                          ("Europe/Berlin", "DE"), ("UTC", "")])
def test_it_finds_the_country_of_a_time_zone(zone, country):
    assert validation.country_for_zone(zone) == country


def test_it_accepts_answers_to_declared_questions():
    answers = validation.clean_answers(QUESTIONS, {"level": "new", "tools": ["vim"], "why": " fun ",
                                                   "mentor": "yes"})
    assert answers == {"level": "new", "tools": ["vim"], "why": "fun", "mentor": True}


def test_it_refuses_answers_to_undeclared_questions():
    with pytest.raises(ValidationError, match="no question salary"):
        validation.clean_answers(QUESTIONS, {"level": "new", "salary": "lots"})


def test_it_refuses_a_choice_not_offered():
    with pytest.raises(ValidationError, match="not one of the choices"):
        validation.clean_answers(QUESTIONS, {"level": "expert"})


def test_it_refuses_a_missing_required_answer():
    with pytest.raises(ValidationError, match="Your level"):
        validation.clean_answers(QUESTIONS, {})


def test_it_refuses_answers_that_are_not_an_object():
    with pytest.raises(ValidationError, match="object"):
        validation.clean_answers(QUESTIONS, ["level"])
