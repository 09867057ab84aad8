"""The learners app's usual cohort (a course that asks three questions) and learner (Ada)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from mmooc import testing

QUESTIONS = [{"id": "level", "label": "Your level", "type": "single", "choices": ["new", "some"]},
             {"id": "tools", "label": "Tools", "type": "multiple", "choices": ["vim", "emacs"]},
             {"id": "why", "label": "Why?", "type": "text"}]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with empty caches (rate limits are in the database, rolled back with each test)."""
    from mmooc.learners import views

    cache.clear()
    views._COHORT_CACHE.clear()
    yield
    cache.clear()
    views._COHORT_CACHE.clear()


@pytest.fixture
def cohort(request, db):
    """A cohort whose course asks QUESTIONS and takes API signups from https://partner.example.org
    (`pytest.mark.cohort` changes it)."""
    return testing.cohort_for(request.node, course={"questions": QUESTIONS,
                                                    "cors_origins": "https://partner.example.org\n"})


@pytest.fixture
def learner(request, cohort):
    """Ada Lovelace, confirmed, in the cohort (`pytest.mark.learner` changes her fields)."""
    fields = testing.marked(request.node, "learner", email="ada@example.org", name="Ada Lovelace",
                            answers={"why": "curious"})
    return testing.make_learner(cohort, fields.pop("email"), **fields)
