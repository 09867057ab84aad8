"""`mmooc group preview|apply|export`."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mmooc.groups.models import Membership, StudyGroup
from mmooc.testing import make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def learners(cohort):
    """Six learners in Kolkata, l0@example.org to l5@example.org."""
    return [make_learner(cohort, name=f"Learner {i}", timezone="Asia/Kolkata", email=f"l{i}@example.org")
            for i in range(6)]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("group", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_previews_groups_without_changing_anything(cohort):
    out, _ = run("preview", "py-3")
    assert "6 learners of py-3 in 2 groups" in out
    assert "UTC+5:30 to UTC+5:30" in out  # the table shows both ends
    assert not StudyGroup.objects.exists()


def test_it_previews_with_another_size(cohort):
    out, _ = run("preview", "py-3", "--size", "6")
    assert "in 1 group " in out and "target size 6" in out


def test_it_previews_the_learners_it_cannot_place_and_why(cohort):
    out, _ = run("preview", "py-3", "--size", "10", "--min-group", "7")
    assert "Asia/Kolkata (6)" not in out
    assert "Not placed: 6 learners. Only 6 learners wait for a group, fewer than the minimum group size of 7" in out
    assert not StudyGroup.objects.exists()


def test_its_preview_names_each_groups_time_zones(cohort):
    out, _ = run("preview", "py-3", "--size", "6")
    assert "UTC+5:30 to UTC+5:30: Asia/Kolkata (6)" in out


def test_it_applies_groups(cohort):
    out, _ = run("apply", "py-3", "--seed", "3")
    assert "2 groups formed for 6 learners of py-3 (seed 3)" in out
    assert Membership.objects.count() == 6


def test_it_draws_a_progress_bar_for_large_cohorts(cohort, monkeypatch):
    monkeypatch.setattr("mmooc.groups.management.commands.group.PROGRESS_FROM", 1)
    monkeypatch.setattr("sys.stderr", err := io.StringIO())
    run("apply", "py-3", "--size", "2")
    assert "Queueing welcome emails [" in err.getvalue() and "3/3" in err.getvalue()


def test_it_refuses_an_unknown_cohort(cohort):
    with pytest.raises(CommandError, match="No cohort 'nope'"):
        run("preview", "nope")
    with pytest.raises(CommandError, match="No cohort 'nope'"):
        run("apply", "nope")
    assert not StudyGroup.objects.exists() and not Membership.objects.exists()


def test_it_refuses_an_impossible_size_and_changes_nothing(cohort):
    with pytest.raises(CommandError, match="at least 2"):
        run("apply", "py-3", "--size", "1")
    assert not StudyGroup.objects.exists()


def test_it_exports_the_roster_as_csv(cohort):
    run("apply", "py-3")
    out, _ = run("export", "py-3")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6
    assert set(rows[0]) == {"group", "group_address", "name", "email"}
    assert {r["email"] for r in rows} == {f"l{i}@example.org" for i in range(6)}
    assert rows[0]["group_address"].startswith("py-3-group-")


def test_it_exports_the_roster_as_json(cohort):
    run("apply", "py-3")
    out, _ = run("export", "py-3", "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 6 and rows[0]["group"] in ("Group 1", "Group 2")


def test_it_leaves_members_who_left_out_of_the_roster(cohort):
    run("apply", "py-3")
    Membership.objects.filter(learner__email="l0@example.org").update(left_at=timezone.now())
    out, _ = run("export", "py-3")
    assert "l0@example.org" not in out


def test_the_roster_csv_keeps_spreadsheets_from_running_names_as_formulas(cohort):
    make_learner(cohort, name='=HYPERLINK("http://evil.example","x")', timezone="Asia/Kolkata",
                 email="eve@example.org")
    run("apply", "py-3")
    out, _ = run("export", "py-3")
    [row] = [r for r in csv.DictReader(io.StringIO(out)) if r["email"] == "eve@example.org"]
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")'
