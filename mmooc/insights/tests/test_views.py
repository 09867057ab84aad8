"""The health page (staff), the remedies page and applying one (organizers)."""

from __future__ import annotations

import re

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.groups.models import Membership
from mmooc.insights import remedy
from mmooc.insights.tests.helpers import group_of, post
from mmooc.mailer.models import Delivery
from mmooc.testing import facilitate

pytestmark = pytest.mark.django_db


def url(cohort, page):
    return f"/dashboard/cohorts/{cohort.slug}/{page}"


@pytest.fixture
def groups(cohort):
    lively, members = group_of(cohort, 1, ["UTC"] * 4)
    first = post(lively, members[0])
    for m in members[1:]:
        post(lively, m, reply_to=first)
    quiet, _ = group_of(cohort, 2, ["Europe/Paris"] * 2)
    other, _ = group_of(cohort, 3, ["Europe/Berlin"] * 2)
    return lively, quiet, other


def snapshot():
    return (sorted(Membership.objects.values_list("id", "group_id", "left_at")), Delivery.objects.count(),
            AuditEntry.objects.count())


@pytest.mark.parametrize("user", ["organizer", "facilitator"])
def test_staff_see_each_groups_score_and_reasons_lowest_first(client, request, cohort, groups, user):
    staff = request.getfixturevalue(user)
    client.force_login(facilitate(staff, *groups[:2]) if user == "facilitator" else staff)
    r = client.get(url(cohort, "groups/health/"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "0 active members of 2 in the last 2 weeks" in body and "no posts in the last 2 weeks" in body
    assert body.index('data-group="2"') < body.index('data-group="1"')
    best_first = client.get(url(cohort, "groups/health/?order=-score")).content.decode()
    assert best_first.index('data-group="1"') < best_first.index('data-group="2"')


def test_a_facilitator_sees_the_health_of_their_groups_only(client, facilitator, cohort, groups):
    client.force_login(facilitate(facilitator, groups[1]))
    body = client.get(url(cohort, "groups/health/")).content.decode()
    assert 'data-group="2"' in body and 'data-group="1"' not in body and 'data-group="3"' not in body


def test_the_groups_page_links_to_the_health_page(client, organizer, cohort, groups):
    client.force_login(organizer)
    assert url(cohort, "groups/health/") in client.get(url(cohort, "groups/")).content.decode()


def test_the_health_page_refuses_an_unknown_order(client, organizer, cohort, groups):
    client.force_login(organizer)
    assert client.get(url(cohort, "groups/health/?order=drop")).status_code == 400


def test_outsiders_get_403_and_visitors_the_sign_in(client, outsider, cohort, groups):
    assert client.get(url(cohort, "groups/health/")).status_code == 302
    client.force_login(outsider)
    assert client.get(url(cohort, "groups/health/")).status_code == 403


def test_an_unknown_cohort_is_404(client, organizer):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/nope/groups/health/").status_code == 404


def test_organizers_review_a_merge_with_who_moves_and_the_spans(client, organizer, cohort, groups):
    client.force_login(organizer)
    body = client.get(url(cohort, "groups/remedies/")).content.decode()
    assert "Merge into Group 2" in body and "From Group 3 to Group 2" in body and "After: Group 2" in body


def test_facilitators_may_not_see_or_apply_remedies(client, facilitator, cohort, groups):
    client.force_login(facilitator)
    assert client.get(url(cohort, "groups/remedies/")).status_code == 403
    before = snapshot()
    token = remedy.token(remedy.remedies(cohort)[0])
    assert client.post(url(cohort, "groups/remedies/apply/"), {"token": token}).status_code == 403
    assert snapshot() == before


def test_an_organizer_applies_a_proposal(client, organizer, cohort, groups):
    lively, quiet, other = groups
    client.force_login(organizer)
    token = remedy.token(remedy.remedies(cohort)[0])
    r = client.post(url(cohort, "groups/remedies/apply/"), {"token": token})
    assert r.status_code == 302
    assert Membership.objects.active().filter(group=quiet).count() == 4
    assert AuditEntry.objects.filter(action="groups.merge", actor=organizer).count() == 1


@pytest.mark.parametrize("token", ["", "garbage", "x" * 5000, "eyJ0eXBlIjoibWVyZ2UifQ:1abc:def",
                                   "<script>alert(1)</script>"])
def test_a_tampered_or_missing_token_is_refused_and_changes_nothing(client, organizer, cohort, groups, token):
    client.force_login(organizer)
    before = snapshot()
    r = client.post(url(cohort, "groups/remedies/apply/"), {"token": token})
    assert r.status_code == 400 and "Nothing was changed" in r.content.decode()
    assert snapshot() == before


def test_a_token_signed_for_something_else_is_refused(client, organizer, cohort, groups):
    from django.core import signing

    client.force_login(organizer)
    before = snapshot()
    forged = signing.dumps({"kind": "merge", "target": 1}, salt="mmooc.lists.archive")
    assert client.post(url(cohort, "groups/remedies/apply/"), {"token": forged}).status_code == 400
    assert snapshot() == before


def test_applying_needs_a_post(client, organizer, cohort, groups):
    client.force_login(organizer)
    assert client.get(url(cohort, "groups/remedies/apply/")).status_code == 405


def test_a_merged_away_group_shows_as_closed_not_quiet(client, organizer, cohort, groups):
    lively, quiet, other = groups
    remedy.apply(cohort, remedy.remedies(cohort)[0], organizer)
    client.force_login(organizer)
    body = client.get(url(cohort, "groups/health/?quiet=1")).content.decode()
    assert 'data-group="2"' in body and 'data-group="3"' not in body
    everything = client.get(url(cohort, "groups/health/")).content.decode()
    row = everything[everything.index('data-group="3"'):]
    assert "closed" in row[:row.index("</tr>")] and "quiet</span>" not in row[:row.index("</tr>")]


def test_the_remedies_page_reads_the_waiting_learners_once(client, organizer, cohort, groups):
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    with CaptureQueriesContext(connection) as queries:
        client.get(url(cohort, "groups/remedies/"))
    repeated = [sql for sql, n in Counter(q["sql"] for q in queries).items() if n > 1 and "learners_learner" in sql]
    assert repeated == []


def test_the_health_page_reads_group_rows_only_for_the_page_shown(client, organizer, cohort, monkeypatch):
    """Every group is scored and ordered, but only the page's groups are read as rows: a cohort
    of 1,000,000 has 17,000 groups and the page shows 50."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mmooc.insights import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for number in range(1, 6):
        group_of(cohort, number, ["UTC"])
    client.force_login(organizer)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(url(cohort, "groups/health/?order=number")).content.decode()
    assert 'data-group="1"' in body and 'data-group="2"' in body and 'data-group="3"' not in body
    rows = [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith('SELECT "groups_studygroup"."id", "groups_studygroup"."cohort_id"')]
    read = [re.search(r" IN \(([^)]*)\)", sql) for sql in rows]
    assert read and all(m and len(m.group(1).split(",")) == 2 for m in read)
