"""Staff pages and commands: numbers with separators, the right plural, one date format,
answers and yes/no as people read them."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mmooc import testing
from mmooc.groups.models import StudyGroup

pytestmark = pytest.mark.django_db


def test_a_group_of_one_member_says_member(client, organizer, cohort):
    group = testing.make_group(cohort, members=["solo@example.org"])
    client.force_login(organizer)
    page = client.get(f"/dashboard/cohorts/{cohort.slug}/groups/{group.number}/").content.decode()
    assert "· 1 member ·" in page and "0 posts" in page and "1 members" not in page


def test_one_problem_in_a_course_folder_says_problem(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "course.yaml").write_text("slug: x\n")  # no title
    with pytest.raises(CommandError, match=r"^1 problem; nothing was changed\.$"):
        call_command("course", "import", str(folder), stdout=StringIO(), stderr=StringIO())


def test_applying_grouping_says_group_and_learner_in_the_singular(client, organizer, cohort, settings):
    settings.GROUP_MIN_SIZE = 1
    testing.make_learner(cohort)
    client.force_login(organizer)
    response = client.post(f"/dashboard/cohorts/{cohort.slug}/grouping/apply/", {"confirm": "1"}, follow=True)
    assert "1 group formed for 1 learner;" in response.content.decode()
    assert StudyGroup.objects.filter(cohort=cohort).count() == 1


@pytest.mark.cohort(course={"questions": [
    {"id": "goals", "label": "What do you want to learn?", "type": "multiple", "choices": ["To analyse data", "Web"]},
    {"id": "before", "label": "Programmed before?", "type": "yesno"}]})
def test_the_learner_detail_shows_answers_as_a_list_and_yes_or_no(client, organizer, cohort):
    learner = testing.make_learner(cohort, answers={"goals": ["To analyse data", "Web"], "before": True})
    client.force_login(organizer)
    page = client.get(f"/dashboard/cohorts/{cohort.slug}/learners/{learner.public_id}").content.decode()
    assert "<th>What do you want to learn?</th><td>To analyse data, Web</td>" in page
    assert "<th>Programmed before?</th><td>Yes</td>" in page
    assert "[&#x27;To analyse data&#x27;" not in page and "<td>True</td>" not in page


def test_staff_pages_write_dates_one_way(client, organizer, cohort):
    client.force_login(organizer)
    page = client.get(f"/dashboard/cohorts/{cohort.slug}/").content.decode()
    assert f"runs {cohort.start_date:%Y-%m-%d} – {cohort.end_date:%Y-%m-%d}" in page
    assert "a.m." not in page and "p.m." not in page


def test_the_demo_readme_names_the_outbox_login():
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert "/outbox/" in readme and "sign in with the printed login first" in readme
