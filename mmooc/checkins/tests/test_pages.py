"""What the learner page, the group staff page, the cohort overview and the check-ins page show."""

from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.checkins.models import CheckIn, CohortSettings
from mmooc.checkins.tests.helpers import say
from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import path_of
from mmooc.testing import facilitate

pytestmark = pytest.mark.django_db


def test_the_learner_page_shows_the_learners_own_weeks(client, group):
    say(group, "alice@example.org", 1, "done")
    say(group, "alice@example.org", 2, "stuck", "recursion")
    say(group, "bob@example.org", 3, "done")
    alice = Learner.objects.get(email="alice@example.org")
    html = client.get(path_of(links.learner_page_url(alice))).content.decode()
    assert "My progress" in html
    assert 'data-week="1">Week 1: <strong class="checkin-done">Done' in html
    assert "Stuck</strong> (recursion)" in html
    assert 'data-week="3">Week 3: <span class="muted">no check-in yet' in html
    assert "checkin+py-3@lists.course.example.org" in html and "DONE 3" in html


def test_a_spanish_learner_reads_progress_and_other_addresses_in_spanish(client, group):
    from mmooc.learners import lifecycle

    say(group, "alice@example.org", 2, "stuck", "recursion")
    Learner.objects.filter(email="alice@example.org").update(language="es")
    alice = Learner.objects.get(email="alice@example.org")
    lifecycle.add_alias(alice, "alice.home@example.net")
    html = client.get(path_of(links.learner_page_url(alice)), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Mi avance" in html and "My progress" not in html
    assert 'data-week="2">Semana 2: <strong class="checkin-stuck">Atascado</strong> (recursion)' in html
    assert 'data-week="1">Semana 1: <span class="muted">todavía sin registrar' in html
    assert "Mis otras direcciones" in html and "alice.home@example.net" in html


def test_the_group_page_shows_who_is_done_or_stuck_this_week(client, group, facilitator):
    say(group, "alice@example.org", 3, "done")
    say(group, "bob@example.org", 3, "stuck", "loops")
    say(group, "carol@example.org", 2, "done")  # last week: not this week's
    client.force_login(facilitate(facilitator, group))
    html = client.get(f"/dashboard/cohorts/py-3/groups/{group.number}/").content.decode()
    assert "Check-ins, week 3" in html
    assert "1 of 3 said done, 1 stuck, 0 skipped." in html
    assert 'checkin-stuck">Stuck</span> loops' in html


def test_the_cohort_overview_shows_completion_by_week(client, group, organizer):
    say(group, "alice@example.org", 1, "done")
    say(group, "bob@example.org", 1, "done")
    say(group, "alice@example.org", 2, "stuck", "x")
    say(group, "alice@example.org", 2, "done")  # the last word counts
    client.force_login(organizer)
    html = client.get("/dashboard/cohorts/py-3/").content.decode()
    assert "Check-ins by week" in html
    assert ('<tr data-week="1"><td>Week 1</td><td class="num">2</td><td class="num">0</td>'
            '<td class="num">0</td><td class="num">67 %</td></tr>') in html
    assert '<tr data-week="2"><td>Week 2</td><td class="num">1</td><td class="num">0</td>' in html


def test_organizers_turn_the_weekly_summary_off_and_on_and_it_is_audited(client, group, organizer, cohort):
    client.force_login(organizer)
    page = client.get("/dashboard/cohorts/py-3/checkins/")
    assert page.status_code == 200 and "Turn weekly summaries off" in page.content.decode()
    assert client.post("/dashboard/cohorts/py-3/checkins/summary/", {"weekly_summary": "0"}).status_code == 302
    assert CohortSettings.for_cohort(cohort).weekly_summary is False
    assert client.post("/dashboard/cohorts/py-3/checkins/summary/", {"weekly_summary": "1"}).status_code == 302
    assert CohortSettings.for_cohort(cohort).weekly_summary is True
    entries = AuditEntry.objects.filter(action="checkins.summary_switched").order_by("id")
    assert [e.details["weekly_summary"] for e in entries] == [False, True]


def test_a_facilitator_reads_the_switch_but_may_not_turn_it_and_nothing_changes(client, group, facilitator):
    client.force_login(facilitate(facilitator, group))
    page = client.get("/dashboard/cohorts/py-3/checkins/")
    assert page.status_code == 200 and "Turn weekly summaries off" not in page.content.decode()
    assert client.post("/dashboard/cohorts/py-3/checkins/summary/", {"weekly_summary": "0"}).status_code == 403
    assert not CohortSettings.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("data", [{}, {"weekly_summary": "maybe"}, {"weekly_summary": "1" * 10_000}])
def test_a_bad_switch_changes_nothing(client, group, organizer, cohort, data):
    client.force_login(organizer)
    r = client.post("/dashboard/cohorts/py-3/checkins/summary/", data)
    assert r.status_code == 400
    assert not CohortSettings.objects.exists() and not AuditEntry.objects.exists()


def test_the_switch_wants_a_post(client, group, organizer):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/py-3/checkins/summary/").status_code == 405


def test_outsiders_see_nothing_and_change_nothing(client, group, outsider):
    assert client.get("/dashboard/cohorts/py-3/checkins/").status_code == 302  # to sign in
    client.force_login(outsider)
    assert client.get("/dashboard/cohorts/py-3/checkins/").status_code == 403
    assert client.post("/dashboard/cohorts/py-3/checkins/summary/", {"weekly_summary": "0"}).status_code == 403
    assert not CohortSettings.objects.exists()


def test_an_unknown_cohort_is_404(client, organizer, db):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/nope/checkins/").status_code == 404


def test_erasing_a_learner_erases_their_check_ins(group):
    from mmooc.learners import lifecycle

    say(group, "alice@example.org", 2, "stuck", "my own words")
    lifecycle.erase(Learner.objects.get(email="alice@example.org"))
    assert not CheckIn.objects.exists()
