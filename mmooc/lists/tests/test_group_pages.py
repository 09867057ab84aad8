"""The group staff pages with their conversation figures, which the lists app supplies (groups.activity)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc.groups.models import Membership
from mmooc.lists.models import Post
from mmooc.testing import facilitate

pytestmark = pytest.mark.cohort_data(n=200, groups=5)


def url(data, query=""):
    return f"/dashboard/cohorts/{data.cohort.slug}/groups/{query}"


def test_it_lists_groups_with_size_posts_and_last_post(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    assert r.status_code == 200
    rows = {row["group"].number: row for row in r.context["rows"]}
    for group in data.groups:
        members = [m for m in Membership.objects.all() if m.group_id == group.pk and m.left_at is None]
        posts = [p for p in Post.objects.all() if p.group_id == group.pk]
        g = rows[group.number]["group"]
        assert g.size == len(members)
        assert g.posts_total == len(posts)
        assert g.last_post == (max(p.received_at for p in posts) if posts else None)


def test_it_counts_posts_per_week_for_the_sparklines(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    now = timezone.now()
    monday = (now - timedelta(days=now.weekday())).date()
    for row in r.context["rows"]:
        weekly = row["weekly"]
        assert len(weekly) == 8
        posts = Post.objects.filter(group=row["group"])
        expected_this_week = sum(1 for p in posts if p.received_at.date() >= monday)
        assert weekly[-1] == expected_this_week
        assert sum(weekly) == sum(1 for p in posts if p.received_at.date() >= monday - timedelta(weeks=7))
        assert row["spark"].startswith("<svg") and "<script" not in row["spark"]


def test_it_puts_quiet_groups_first_when_asked(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data, "?quiet=1"))
    numbers = [row["group"].number for row in r.context["rows"]]
    assert numbers[0] == data.groups[-1].number  # the group that never posted
    assert numbers[-1] == 1  # the busiest
    recent = [row["group"].posts_recent for row in r.context["rows"]]
    assert recent == sorted(recent)


def test_it_refuses_a_bad_page_number(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data, "?page=zero"))
    assert r.status_code == 400
    assert b"does not exist" in r.content


def test_it_shows_a_group_with_its_members(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data, "1/"))
    assert r.status_code == 200
    members = Membership.objects.filter(group=data.groups[0])
    for m in members:
        assert m.learner.email.encode() in r.content
    assert f"/groups/{data.groups[0].public_id}/".encode() in r.content  # the archive
    assert b"Moderate" in r.content


def test_it_lets_a_facilitator_read_and_moderate_but_not_download(client, facilitator, data):
    client.force_login(facilitate(facilitator, data.groups[0]))
    assert client.get(url(data)).status_code == 200
    r = client.get(url(data, "1/"))
    assert r.status_code == 200 and b"Moderate" in r.content
    assert b".mbox" not in r.content
    assert client.get(url(data, "2/")).status_code == 404  # another group: as if it did not exist


def test_it_refuses_an_outsider(client, outsider, data):
    client.force_login(outsider)
    assert client.get(url(data)).status_code == 403
    assert client.get(url(data, "1/")).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, data):
    assert client.get(url(data)).status_code == 302
    assert client.get(url(data, "1/")).status_code == 302


def test_it_answers_404_for_an_unknown_group(client, organizer, data):
    client.force_login(organizer)
    assert client.get(url(data, "99/")).status_code == 404


def test_it_refuses_post(client, organizer, data):
    client.force_login(organizer)
    assert client.post(url(data)).status_code == 405
    assert client.post(url(data, "1/")).status_code == 405
