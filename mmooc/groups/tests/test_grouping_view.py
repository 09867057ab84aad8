"""The staff grouping page: preview (GET) and apply (POST)."""

from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.groups import welcome
from mmooc.groups.models import Grouping, GroupingPolicy, Membership, StudyGroup
from mmooc.lib import periodic
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def learners(cohort):
    """Four learners in Paris, four in New York: two groups."""
    return [make_learner(cohort, timezone=zone) for zone in ["Europe/Paris"] * 4 + ["America/New_York"] * 4]


def url(cohort, action=""):
    return f"/dashboard/cohorts/{cohort.slug}/grouping/{action}"


def test_it_previews_groups_for_an_organizer(client, organizer, cohort):
    client.force_login(organizer)
    response = client.get(url(cohort))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "Groups by time-zone span" in body
    assert "UTC+1" in body and "UTC−5" in body
    assert "Apply grouping" in body
    assert response.context["summary"].groups == 2
    assert not StudyGroup.objects.exists()


def test_it_previews_again_with_another_size(client, organizer, cohort):
    client.force_login(organizer)
    response = client.get(url(cohort), {"size": "8"})
    assert response.context["summary"].groups == 1


def test_it_shows_facilitators_the_preview_without_the_apply_button(client, facilitator, cohort):
    client.force_login(facilitator)
    response = client.get(url(cohort))
    assert response.status_code == 200
    assert "Apply grouping" not in response.content.decode()


def test_it_refuses_a_bad_size_with_a_useful_message(client, organizer, cohort):
    client.force_login(organizer)
    response = client.get(url(cohort), {"size": "1"})
    assert response.status_code == 400
    assert "A group needs at least 2 people." in response.content.decode()
    response = client.post(url(cohort, "apply/"), {"size": "1", "confirm": "on"})
    assert response.status_code == 400 and "A group needs at least 2 people." in response.content.decode()
    assert not StudyGroup.objects.exists() and not Grouping.objects.exists() and not AuditEntry.objects.exists()


def test_it_refuses_a_size_that_is_not_a_number(client, organizer, cohort):
    client.force_login(organizer)
    assert client.get(url(cohort), {"size": "forty"}).status_code == 400
    assert client.post(url(cohort, "apply/"), {"size": "forty", "confirm": "on"}).status_code == 400
    assert not StudyGroup.objects.exists() and not Grouping.objects.exists() and not AuditEntry.objects.exists()


def test_it_refuses_outsiders(client, outsider, cohort):
    client.force_login(outsider)
    assert client.get(url(cohort)).status_code == 403
    assert client.post(url(cohort, "apply/"), {"size": 4, "confirm": "1"}).status_code == 403
    assert not StudyGroup.objects.exists()


def test_it_sends_anonymous_visitors_to_sign_in(client, cohort):
    response = client.get(url(cohort))
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]


def test_it_answers_404_for_an_unknown_cohort(client, organizer, cohort):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/nope/grouping/").status_code == 404


def test_it_applies_grouping_for_an_organizer(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(url(cohort, "apply/"), {"size": "4", "seed": "5", "confirm": "1"})
    assert response.status_code == 302 and response["Location"] == url(cohort)
    grouping = Grouping.objects.get()
    assert (grouping.seed, grouping.created_by, grouping.learner_count) == (5, organizer, 8)
    assert Membership.objects.count() == 8
    assert AuditEntry.objects.get(action="grouping.applied").actor == organizer
    # The page answers once the groups are written; the engine's periodic job writes the welcomes.
    assert not Message.objects.filter(tag="group-welcome").exists()
    page = client.get(url(cohort)).content.decode()
    assert "writing the welcome emails of\n  <strong>2</strong> groups" in page
    assert welcome.JOB in periodic.run_pending()  # applying woke the job: it runs at the loop's next look
    assert Message.objects.filter(tag="group-welcome").count() == 2
    assert Delivery.objects.filter(message__tag="group-welcome").count() == 8
    assert "welcomes-pending" not in client.get(url(cohort)).content.decode()


def test_the_welcome_job_queues_each_group_once_whoever_runs_it(client, organizer, cohort):
    client.force_login(organizer)
    client.post(url(cohort, "apply/"), {"size": "4", "seed": "5", "confirm": "1"})
    assert welcome.queue_pending() == 8
    assert welcome.queue_pending() == 0
    assert Delivery.objects.filter(message__tag="group-welcome").count() == 8


def test_it_forbids_facilitators_to_apply(client, facilitator, cohort):
    client.force_login(facilitator)
    response = client.post(url(cohort, "apply/"), {"size": "4", "confirm": "1"})
    assert response.status_code == 403
    assert not StudyGroup.objects.exists()


def test_it_asks_to_confirm_before_applying(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(url(cohort, "apply/"), {"size": "4"})
    assert response.status_code == 400
    assert "Tick the box to confirm." in response.content.decode()
    assert not StudyGroup.objects.exists()


def test_it_refuses_to_apply_a_bad_size(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(url(cohort, "apply/"), {"size": "0", "confirm": "1"})
    assert response.status_code == 400
    assert not StudyGroup.objects.exists() and not Message.objects.exists()


def test_it_answers_405_to_the_wrong_method(client, organizer, cohort):
    client.force_login(organizer)
    assert client.post(url(cohort)).status_code == 405
    assert client.get(url(cohort, "apply/"), {"confirm": "on"}).status_code == 405
    assert client.get(url(cohort, "check/")).status_code == 405
    assert not StudyGroup.objects.exists() and not Message.objects.exists() and not AuditEntry.objects.exists()


def test_it_shows_the_waiting_count_once_groups_exist(client, organizer, cohort):
    client.force_login(organizer)
    client.post(url(cohort, "apply/"), {"size": "4", "confirm": "1"})
    make_learner(cohort, timezone="Asia/Tokyo")  # confirmed after grouping, not placed yet
    make_learner(cohort, timezone="Asia/Tokyo")
    response = client.get(url(cohort))
    assert response.context["waiting"] == 2
    assert "<strong>2</strong> learners confirmed later" in response.content.decode()
    assert response.context["summary"].learners == 2  # the preview is for them


@pytest.mark.min_group(5)
def test_the_preview_forms_no_group_under_the_minimum_group_size(client, organizer, cohort):
    """Eight learners, four each in Paris and New York: with groups of 3, two of 4 rather than 3, 3 and 2."""
    client.force_login(organizer)
    response = client.get(url(cohort))
    assert [g.size for g in response.context["groups"]] == [4, 4]  # the minimum is held at the target, 4
    response = client.get(url(cohort), {"size": "3"})
    assert sorted(g.size for g in response.context["groups"]) == [4, 4]  # not 3, 3, 2
    assert "No group is smaller than 3" in response.content.decode()


def test_the_preview_explains_each_groups_span_zones_and_language(client, organizer, cohort):
    client.force_login(organizer)
    body = client.get(url(cohort)).content.decode()
    assert "Europe/Paris (4)" in body and "America/New_York (4)" in body
    assert "(UTC+1)" in body and "(UTC−5)" in body


def test_an_organizer_keeps_a_minimum_group_size_for_the_cohort_and_the_preview_lists_who_waits(
        client, organizer, cohort, learners):
    client.force_login(organizer)
    response = client.post(url(cohort, "minimum/"), {"min_group": "9"})
    assert response.status_code == 302
    assert GroupingPolicy.objects.get(cohort=cohort).min_group_size == 9
    entry = AuditEntry.objects.get(action="grouping.min_size")
    assert entry.details["after"] == 9 and entry.details["before"] == 1
    response = client.get(url(cohort), {"size": "10"})
    assert response.context["groups"] == []
    assert response.context["unplaced_count"] == 8
    body = response.content.decode()
    assert "Not placed: 8 learners" in body
    assert "Only 8 learners wait for a group, fewer than the minimum group size of 9" in body
    assert f"/learners/{learners[0].public_id}" in body
    assert "Apply grouping" not in body


def test_the_minimum_tried_in_the_preview_is_the_one_applied_and_recorded(client, organizer, cohort):
    client.force_login(organizer)
    response = client.get(url(cohort), {"size": "8", "min_group": "3"})
    assert 'name="min_group" value="3"' in response.content.decode()
    assert [g.size for g in response.context["groups"]] == [8]  # one group of 8 holds both cities
    client.post(url(cohort, "apply/"), {"size": "3", "min_group": "4", "confirm": "1"})
    grouping = Grouping.objects.get()
    assert grouping.min_group == 3  # the minimum of 4, held at the maximum of 3
    assert sorted(g.memberships.count() for g in StudyGroup.objects.all()) == [4, 4]
    assert not GroupingPolicy.objects.exists()  # trying a minimum does not keep it


@pytest.mark.parametrize("value", ["0", "1001", "five"])
def test_it_refuses_a_bad_minimum_and_keeps_the_one_there_was(client, organizer, cohort, value):
    client.force_login(organizer)
    response = client.post(url(cohort, "minimum/"), {"min_group": value})
    assert response.status_code == 400
    assert "minimum group size" in response.content.decode().lower()
    assert not GroupingPolicy.objects.exists() and not AuditEntry.objects.filter(action="grouping.min_size").exists()


def test_it_forbids_facilitators_to_keep_a_minimum(client, facilitator, cohort):
    client.force_login(facilitator)
    assert client.post(url(cohort, "minimum/"), {"min_group": "3"}).status_code == 403
    assert not GroupingPolicy.objects.exists()


def test_an_empty_minimum_goes_back_to_the_sites(client, organizer, cohort, settings):
    settings.GROUP_MIN_SIZE = 6
    client.force_login(organizer)
    client.post(url(cohort, "minimum/"), {"min_group": "2"})
    client.post(url(cohort, "minimum/"), {"min_group": ""})
    assert client.get(url(cohort)).context["cohort_min_group"] == 6
