from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.groups.models import Membership
from mmooc.testing import facilitate

pytestmark = pytest.mark.cohort_data(n=80, groups=3)


def member(data, group=0):
    return Membership.objects.filter(group=data.groups[group], left_at__isnull=True, muted=False).first()


def action(data, m, verb):
    return f"/dashboard/cohorts/{data.cohort.slug}/groups/{m.group.number}/members/{m.pk}/{verb}/"


def snapshot():
    return sorted(Membership.objects.values_list("id", "group_id", "left_at", "muted"))


@pytest.mark.parametrize("user", ["organizer", "facilitator"])
def test_it_moves_a_member_and_records_it(client, request, data, user):
    actor = request.getfixturevalue(user)
    m = member(data)
    client.force_login(facilitate(actor, *data.groups[:2]) if user == "facilitator" else actor)
    r = client.post(action(data, m, "move"), {"to_group": data.groups[1].number})
    assert r.status_code == 302
    assert Membership.objects.get(learner=m.learner, left_at__isnull=True).group == data.groups[1]
    entry = AuditEntry.objects.get(action="member.moved")
    assert entry.actor == actor and m.learner.email in entry.summary


def test_it_removes_a_member_and_records_it(client, facilitator, data):
    m = member(data)
    client.force_login(facilitate(facilitator, data.groups[0]))
    assert client.post(action(data, m, "remove")).status_code == 302
    m.refresh_from_db()
    assert m.left_at is not None
    assert AuditEntry.objects.filter(action="member.removed", actor=facilitator).count() == 1


def test_a_facilitator_moves_no_one_into_a_group_they_do_not_facilitate(client, facilitator, data):
    m = member(data)
    before = snapshot()
    client.force_login(facilitate(facilitator, data.groups[0]))
    assert client.post(action(data, m, "move"), {"to_group": data.groups[1].number}).status_code == 400
    assert client.post(action(data, member(data, 1), "remove")).status_code == 404
    assert snapshot() == before and not AuditEntry.objects.exists()


def test_it_mutes_and_unmutes_a_member_and_records_both(client, organizer, data):
    m = member(data)
    client.force_login(organizer)
    assert client.post(action(data, m, "mute"), {"muted": "1"}).status_code == 302
    m.refresh_from_db()
    assert m.muted is True
    assert client.post(action(data, m, "mute"), {"muted": "0"}).status_code == 302
    m.refresh_from_db()
    assert m.muted is False
    assert [e.details["muted"] for e in AuditEntry.objects.filter(action="member.muted").order_by("id")] == [
        True, False]


def test_it_refuses_a_move_to_the_same_group_and_changes_nothing(client, organizer, data):
    m = member(data)
    before = snapshot()
    client.force_login(organizer)
    r = client.post(action(data, m, "move"), {"to_group": m.group.number})
    assert r.status_code == 400 and b"Choose another group" in r.content
    assert snapshot() == before and not AuditEntry.objects.exists()


def test_it_refuses_a_move_without_a_group_and_says_why(client, organizer, data):
    m = member(data)
    before = snapshot()
    client.force_login(organizer)
    r = client.post(action(data, m, "move"), {})
    assert r.status_code == 400 and b"Choose the group to move this member to." in r.content
    assert snapshot() == before


def test_it_refuses_a_move_to_a_group_this_cohort_does_not_have(client, organizer, data):
    m = member(data)
    before = snapshot()
    client.force_login(organizer)
    r = client.post(action(data, m, "move"), {"to_group": 99})
    assert r.status_code == 400 and b"another group of this cohort" in r.content
    assert snapshot() == before


def test_it_refuses_a_bad_mute_value(client, organizer, data):
    m = member(data)
    client.force_login(organizer)
    r = client.post(action(data, m, "mute"), {"muted": "maybe"})
    assert r.status_code == 400 and b"mute or unmute" in r.content
    m.refresh_from_db()
    assert m.muted is False


def test_it_answers_404_for_a_member_of_another_group(client, organizer, data):
    m = member(data, group=1)
    client.force_login(organizer)
    wrong = f"/dashboard/cohorts/{data.cohort.slug}/groups/1/members/{m.pk}/remove/"
    assert client.post(wrong).status_code == 404
    m.refresh_from_db()
    assert m.left_at is None


def test_it_refuses_an_outsider_and_changes_nothing(client, outsider, data):
    m = member(data)
    before = snapshot()
    client.force_login(outsider)
    for verb, body in [("move", {"to_group": 2}), ("remove", {}), ("mute", {"muted": "1"})]:
        assert client.post(action(data, m, verb), body).status_code == 403
    assert snapshot() == before


def test_it_sends_anonymous_visitors_to_sign_in(client, data):
    m = member(data)
    assert client.post(action(data, m, "remove")).status_code == 302
    m.refresh_from_db()
    assert m.left_at is None


def test_it_refuses_get(client, organizer, data):
    m = member(data)
    client.force_login(organizer)
    for verb in ("move", "remove", "mute"):
        assert client.get(action(data, m, verb), {"to_group": "2", "muted": "1"}).status_code == 405
    m.refresh_from_db()
    assert (m.group, m.left_at, m.muted) == (data.groups[0], None, False) and not AuditEntry.objects.exists()
