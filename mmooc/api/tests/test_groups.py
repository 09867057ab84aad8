from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.api.models import ApiToken
from mmooc.api.tests.conftest import error_code
from mmooc.audit.models import AuditEntry
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner


@pytest.fixture
def wanting(cohort):
    zones = ["Europe/Paris", "Europe/Berlin", "Europe/Madrid", "America/New_York", "America/Chicago",
             "America/Denver", "Asia/Tokyo", "Asia/Seoul"]
    return [testing.make_learner(cohort, timezone=z, wants_group=True) for z in zones]


def test_a_preview_writes_nothing_and_a_read_only_token_may_ask(make_client, cohort, wanting):
    reader = make_client(scope=ApiToken.READ)
    resp = reader.get(f"/cohorts/{cohort.slug}/groups/preview", {"size": 4})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["learners"] == 8 and sum(g["size"] for g in body["groups"]) == 8
    assert not StudyGroup.objects.exists()


@pytest.mark.parametrize("params,param", [({"size": 1}, "size"), ({"seed": -1}, "seed"), ({"size": "big"}, "size")])
def test_a_bad_preview_is_refused(api, cohort, params, param):
    resp = api.get(f"/cohorts/{cohort.slug}/groups/preview", params)
    assert resp.status_code == 400 and resp.json()["error"]["param"] == param


def test_it_applies_a_grouping_and_lists_groups_and_members(api, cohort, wanting):
    resp = api.post(f"/cohorts/{cohort.slug}/groups/apply", {"size": 4})
    assert resp.status_code == 200, resp.content
    assert resp.json()["learners"] == 8
    groups = api.get(f"/cohorts/{cohort.slug}/groups").json()
    assert sum(g["members"] for g in groups) == 8 and groups[0]["number"] == 1
    members = api.get(f"/cohorts/{cohort.slug}/groups/1/members").json()
    assert len(members) == groups[0]["members"]
    assert AuditEntry.objects.get(action="grouping.applied").actor.username == "olivia"


def test_a_read_only_token_does_not_apply(make_client, cohort, wanting):
    resp = make_client(scope=ApiToken.READ).post(f"/cohorts/{cohort.slug}/groups/apply", {})
    assert resp.status_code == 403 and not StudyGroup.objects.exists()


def test_it_moves_a_learner(api, cohort):
    first, second = testing.make_group(cohort, 1), testing.make_group(cohort, 2)
    member = testing.add_member(first, "ann@example.org")
    resp = api.post(f"/cohorts/{cohort.slug}/learners/{member.learner.public_id}/move", {"group": 2})
    assert resp.status_code == 200, resp.content
    assert Membership.objects.active().get(learner=member.learner).group == second
    assert AuditEntry.objects.filter(action="member.moved").count() == 1


def test_a_move_to_no_such_group_changes_nothing(api, cohort):
    first = testing.make_group(cohort, 1)
    member = testing.add_member(first, "ann@example.org")
    resp = api.post(f"/cohorts/{cohort.slug}/learners/{member.learner.public_id}/move", {"group": 9})
    assert resp.status_code == 400 and error_code(resp) == "group_not_found"
    assert Membership.objects.active().get(learner=member.learner).group == first


def test_a_learner_who_left_is_not_moved(api, cohort):
    testing.make_group(cohort, 1)
    learner = testing.make_learner(cohort, state=Learner.LEFT)
    resp = api.post(f"/cohorts/{cohort.slug}/learners/{learner.public_id}/move", {"group": 1})
    assert resp.status_code == 409 and error_code(resp) == "learner_not_confirmed"
    assert not Membership.objects.exists()


def test_an_unknown_group_is_not_found(api, cohort):
    resp = api.get(f"/cohorts/{cohort.slug}/groups/3/members")
    assert resp.status_code == 404 and error_code(resp) == "group_not_found"
