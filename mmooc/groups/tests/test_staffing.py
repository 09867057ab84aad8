"""Facilitators assigned to groups and organizers to cohorts: the group page and `mmooc staff`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from mmooc.audit.models import AuditEntry
from mmooc.courses.access import cohorts_for
from mmooc.courses.models import CohortOrganizer
from mmooc.groups import access
from mmooc.groups.models import Facilitation
from mmooc.lib.staff import is_sitewide
from mmooc.testing import add_member, make_cohort, make_group, make_organizer

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(cohort):
    return make_group(cohort, 1, ["ada@example.org"]), make_group(cohort, 2, ["bo@example.org"])


def staff(*args: str) -> str:
    out = io.StringIO()
    call_command("staff", *args, stdout=out)
    return out.getvalue()


def facilitators_url(group) -> str:
    return f"/dashboard/cohorts/{group.cohort.slug}/groups/{group.number}/facilitators/"


def test_an_organizer_assigns_a_facilitator_on_the_group_page_and_it_is_audited(client, organizer, facilitator,
                                                                               groups):
    first, second = groups
    client.force_login(organizer)
    page = client.get(f"/dashboard/cohorts/{first.cohort.slug}/groups/1/").content.decode()
    assert 'id="facilitators"' in page and '<option value="fabian">' in page
    response = client.post(facilitators_url(first), {"user": "fabian", "action": "assign"})
    assert response.status_code == 302
    assert list(access.groups_for(facilitator, first.cohort)) == [first]
    entry = AuditEntry.objects.get(action="staff.facilitator_assigned")
    assert entry.actor == organizer and entry.details == {"user": "fabian", "cohort": "py-3", "group": 1}
    client.post(facilitators_url(first), {"user": "fabian", "action": "unassign"})
    assert not access.groups_for(facilitator, first.cohort).exists()
    assert AuditEntry.objects.filter(action="staff.facilitator_unassigned").count() == 1


def test_the_group_page_refuses_to_make_an_organizer_or_a_stranger_a_facilitator(client, organizer, outsider,
                                                                                 groups):
    client.force_login(organizer)
    for name in ("olivia", "oscar", "nobody"):
        response = client.post(facilitators_url(groups[0]), {"user": name, "action": "assign"})
        assert response.status_code == 400
    assert not Facilitation.objects.exists() and not AuditEntry.objects.exists()


def test_a_facilitator_may_not_assign_anyone(client, facilitator, groups):
    Facilitation.objects.create(user=facilitator, group=groups[0])
    client.force_login(facilitator)
    assert client.post(facilitators_url(groups[0]), {"user": "fabian", "action": "unassign"}).status_code == 403
    assert Facilitation.objects.count() == 1 and not AuditEntry.objects.exists()


def test_the_command_assigns_lists_and_unassigns_a_facilitator(facilitator, groups):
    out = staff("assign", "fabian", "--group", "py-3:1", "--group", "py-3:2")
    assert "fabian now assigned to py-3:1 (Group 1)" in out and "py-3:2" in out
    assert "fabian\tfacilitator\tpy-3:1, py-3:2" in staff("list")
    assert "was already assigned" in staff("assign", "fabian", "--group", "py-3:1")
    assert "no longer assigned to py-3:2" in staff("unassign", "fabian", "--group", "py-3:2")
    assert list(access.groups_for(facilitator, groups[0].cohort)) == [groups[0]]
    assert AuditEntry.objects.filter(action="staff.facilitator_assigned", actor_name="cli").count() == 2


@pytest.mark.parametrize("args,message", [
    (["nobody", "--group", "py-3:1"], "No staff account"),
    (["fabian"], "Name at least one"),
    (["fabian", "--group", "py-3"], "e.g. py-3:2"),
    (["fabian", "--group", "py-3:9"], "No group 9"),
    (["fabian", "--group", "py-3:1", "--cohort", "py-3"], "not an organizer"),
    (["fabian", "--cohort", "nope"], "No cohort"),
])
def test_the_command_refuses_clearly_and_changes_nothing(facilitator, groups, args, message):
    with pytest.raises(CommandError, match=message):
        staff("assign", *args)
    assert not Facilitation.objects.exists() and not CohortOrganizer.objects.exists()
    assert not AuditEntry.objects.exists()


def test_an_organizer_limited_to_a_cohort_sees_only_it_and_unassigning_makes_them_site_wide(cohort):
    from django.contrib.auth.models import User

    def olivia() -> User:  # as a new request loads her
        return User.objects.get(username="olivia")

    other = make_cohort(slug="py-4")
    make_organizer()
    assert is_sitewide(olivia()) and set(cohorts_for(olivia())) == {cohort, other}
    assert "olivia now assigned to py-4" in staff("assign", "olivia", "--cohort", "py-4")
    assert not is_sitewide(olivia()) and list(cohorts_for(olivia())) == [other]
    assert "olivia\torganizer\tpy-4" in staff("list")
    out = staff("unassign", "olivia", "--cohort", "py-4")
    assert "they organize every cohort" in out and is_sitewide(olivia())
    entry = AuditEntry.objects.get(action="staff.organizer_unassigned")
    assert entry.details["sitewide"] is True


def test_a_superuser_cannot_be_limited(cohort):
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", "root@example.org", "x")
    with pytest.raises(CommandError, match="superuser"):
        staff("assign", "root", "--cohort", "py-3")
    assert not CohortOrganizer.objects.exists()


def test_a_facilitator_sees_the_current_members_of_their_groups_only(facilitator, groups):
    first, second = groups
    Facilitation.objects.create(user=facilitator, group=first)
    gone = add_member(first, "cy@example.org")
    gone.left_at = gone.joined_at
    gone.save(update_fields=["left_at"])
    visible = set(access.learners_for(facilitator, first.cohort).values_list("email", flat=True))
    assert visible == {"ada@example.org"}
    assert list(cohorts_for(facilitator)) == [first.cohort]
    assert not access.groups_for(facilitator, make_cohort(slug="py-9")).exists()
