"""group.formed for a large grouping: nothing read when no endpoint wants it, and the
members read and the events written a few hundred groups at a time."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc import testing
from mmooc.groups.apply import apply_grouping
from mmooc.groups.models import StudyGroup
from mmooc.hooks import receivers
from mmooc.hooks.models import Endpoint, HookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def any_group_size(settings):
    settings.GROUP_MIN_SIZE = 1


def grouped(cohort, n=12):
    for _ in range(n):
        testing.make_learner(cohort)
    apply_grouping(cohort, target_size=2, welcome_now=False)
    return list(StudyGroup.objects.filter(cohort=cohort).order_by("number"))


def test_without_an_endpoint_wanting_it_no_membership_is_read(cohort):
    groups = grouped(cohort)
    Endpoint.objects.create(name="Other", url="https://crm.example.org/hook", events=["learner.confirmed"])
    with CaptureQueriesContext(connection) as captured:
        receivers.on_groups_formed(None, cohort=cohort, groups=groups)
    assert not any("groups_membership" in q["sql"] for q in captured.captured_queries)
    assert not HookEvent.objects.exists()


def test_a_large_grouping_is_told_a_few_groups_at_a_time(cohort, monkeypatch):
    monkeypatch.setattr(receivers, "GROUPS_PER_EMIT", 4)
    groups = grouped(cohort, 20)
    Endpoint.objects.create(name="CRM", url="https://crm.example.org/hook", events=["group.formed"])
    with CaptureQueriesContext(connection) as captured:
        receivers.on_groups_formed(None, cohort=cohort, groups=groups)
    reads = [q for q in captured.captured_queries if "groups_membership" in q["sql"]]
    assert len(reads) == 3  # 10 groups, 4 at a time
    told = {e.data["group"]["number"]: e.data["members"] for e in HookEvent.objects.filter(type="group.formed")}
    assert sorted(told) == [g.number for g in groups]
    assert all(len(members) == 2 for members in told.values())
