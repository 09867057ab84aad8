import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from mmooc.learners.models import Learner
from mmooc.testing import make_cohort, make_course, make_learner

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("cohort", *args, stdout=out)
    return out.getvalue()


def test_it_prints_one_line_per_cohort_with_counts():
    cohort = make_cohort(make_course(slug="python"), slug="py-3", start=date(2027, 3, 1))
    for _ in range(3):
        make_learner(cohort)
    make_learner(cohort, state=Learner.PENDING)
    lines = run("list").splitlines()
    assert len(lines) == 2
    assert lines[1].split()[:5] == ["python", "py-3", "signup-open", "2027-03-01", "2027-04-18"]
    assert "3 confirmed (4 signed up)" in lines[1]


def test_it_prints_json():
    cohort = make_cohort(slug="py-4")
    make_learner(cohort)
    rows = json.loads(run("list", "--format", "json"))
    assert rows[0]["cohort"] == "py-4"
    assert rows[0]["learners_confirmed"] == 1


def test_it_filters_by_course():
    make_cohort(make_course(slug="a"), slug="a-1")
    make_cohort(make_course(slug="b"), slug="b-1")
    rows = json.loads(run("list", "--course", "b", "--format", "json"))
    assert [r["cohort"] for r in rows] == ["b-1"]


def test_it_says_when_there_is_nothing():
    assert run("list").strip() == "No cohorts yet."
