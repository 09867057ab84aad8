"""The group welcome describes the group as it is."""

from __future__ import annotations

import pytest

from mmooc.groups import welcome
from mmooc.testing import join, make_cohort, make_group, make_learner

pytestmark = pytest.mark.django_db


def _body(languages: list[str]) -> str:
    group = make_group(make_cohort(), 1, pooled=True)
    for i, language in enumerate(languages):
        join(group, make_learner(group.cohort, f"m{i}@example.org", language=language))
    people = welcome.members_of([group])[group.pk]
    return welcome._welcome_message(group.cohort.course, group, people)["body"]


def test_a_pooled_group_of_two_english_speakers_is_not_called_multilingual():
    assert "several languages" not in _body(["en", "en"])


def test_a_group_whose_members_prefer_different_languages_says_so():
    assert "Members write in several languages." in _body(["en", "pt", "en"])
