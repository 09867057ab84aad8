"""GET /dashboard/cohorts/<cohort>/learners/."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.learners.models import Learner
from mmooc.testing import make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def learners(cohort):
    """Ada, confirmed, in London, and Bo, pending, in Shanghai."""
    make_learner(cohort, "ada@example.org", name="Ada Lovelace", timezone="Europe/London", language="en")
    make_learner(cohort, "bo@example.org", name="Bo Li", timezone="Asia/Shanghai", language="zh",
                 state=Learner.PENDING)


def url(cohort, query=""):
    return f"/dashboard/cohorts/{cohort.slug}/learners/{query}"


def test_it_lists_the_cohorts_learners_to_an_organizer(client, organizer, cohort):
    client.force_login(organizer)
    content = client.get(url(cohort)).content.decode()
    assert "ada@example.org" in content and "bo@example.org" in content


def test_it_lists_only_the_members_of_a_facilitators_groups(client, facilitator, cohort):
    ada = Learner.objects.get(email="ada@example.org")
    group = testing.make_group(cohort, 1)
    testing.join(group, ada)
    testing.join(testing.make_group(cohort, 2), testing.make_learner(cohort, "cy@example.org"))
    client.force_login(testing.facilitate(facilitator, group))
    content = client.get(url(cohort)).content.decode()
    assert "ada@example.org" in content
    assert "bo@example.org" not in content and "cy@example.org" not in content
    # Their group filter offers their groups only; another group's number finds no one.
    assert "Group 2" not in content
    assert "ada@example.org" not in client.get(url(cohort, "?group=2")).content.decode()


@pytest.mark.parametrize("query,shown,hidden", [
    ("?q=LOVELACE", "ada@", "bo@"), ("?q=bo@", "bo@", "ada@"), ("?state=pending", "bo@", "ada@"),
    ("?timezone=Europe/London", "ada@", "bo@"), ("?language=zh", "bo@", "ada@"),
])
def test_it_filters(client, organizer, cohort, query, shown, hidden):
    client.force_login(organizer)
    content = client.get(url(cohort, query)).content.decode()
    assert shown in content and hidden not in content


def test_it_filters_by_group(client, organizer, cohort):
    testing.join(testing.make_group(cohort, 7), Learner.objects.get(email="bo@example.org"))
    client.force_login(organizer)
    grouped = client.get(url(cohort, "?group=7")).content.decode()
    alone = client.get(url(cohort, "?group=none")).content.decode()
    assert "bo@" in grouped and "ada@" not in grouped
    assert "ada@" in alone and "bo@" not in alone


def test_it_refuses_outsiders(client, outsider, cohort):
    client.force_login(outsider)
    assert client.get(url(cohort)).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, cohort):
    assert client.get(url(cohort)).status_code == 302


def test_it_gives_404_for_an_unknown_cohort(client, organizer):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/nope/learners/").status_code == 404


def test_it_refuses_post(client, organizer, cohort):
    client.force_login(organizer)
    assert client.post(url(cohort)).status_code == 405


def test_it_offers_import_and_export_to_organizers_only(client, facilitator, organizer, cohort):
    client.force_login(testing.facilitating(facilitator, cohort))
    assert "Import CSV" not in client.get(url(cohort)).content.decode()
    client.force_login(organizer)
    assert "Import CSV" in client.get(url(cohort)).content.decode()


def _statement(client, organizer, cohort, marker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(cohort)).status_code == 200
    [sql] = [q["sql"] for q in queries.captured_queries if marker in q["sql"]]
    return sql


def test_the_newest_first_page_is_read_from_the_signup_time_index(client, organizer, cohort):
    """A page of 100 among 100,000 learners: read in index order, not sorted from all of them."""
    sql = _statement(client, organizer, cohort, 'ORDER BY "learners_learner"."signed_up_at" DESC')
    assert "learner_cohort_signed_up" in testing.query_plan(sql)


def test_the_time_zone_choices_are_read_from_the_zone_index(client, organizer, cohort):
    sql = _statement(client, organizer, cohort, 'SELECT DISTINCT "learners_learner"."timezone"')
    assert "learner_cohort_timezone" in testing.query_plan(sql)


def test_past_the_limit_the_group_filter_asks_for_a_number(client, organizer, cohort, monkeypatch):
    from mmooc.learners import staff_views

    monkeypatch.setattr(staff_views, "GROUP_CHOICES", 2)
    for number in (1, 2, 3):
        testing.make_group(cohort, number, name=f"Team {number}")
    testing.join(testing.make_group(cohort, 9), Learner.objects.get(email="bo@example.org"))
    client.force_login(organizer)
    content = client.get(url(cohort, "?group=9")).content.decode()
    assert 'name="group" inputmode="numeric"' in content and 'value="9"' in content
    assert "Team 1" not in content
    assert "bo@" in content and "ada@" not in content


def test_the_group_filter_reads_no_more_groups_than_it_lists(client, organizer, cohort, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mmooc.learners import staff_views

    monkeypatch.setattr(staff_views, "GROUP_CHOICES", 2)
    for number in range(1, 7):
        testing.make_group(cohort, number)
    client.force_login(organizer)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url(cohort))
    groups = [q for q in ctx.captured_queries if 'FROM "groups_studygroup"' in q["sql"]]
    assert groups and testing.largest_result(groups) <= 3
