"""The send planner's inputs gathered from the database, and the plan on the scheduling page
(before the question "Send N copies now?", whose confirmation still works)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc.emails import planner, scheduling
from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen"), pytest.mark.cohort(course={"modules": 3})]
MON = datetime(2027, 3, 15, tzinfo=UTC)  # day 7 of the run; New York is on summer time since 14 March


def _email(cohort, **fields) -> CourseEmail:
    """Week 2, day 7 at 09:00 in each learner's zone."""
    fields.setdefault("subject", "Week 2")
    fields.setdefault("body", "Hi {{ learner.first_name }}.\n")
    fields.setdefault("schedule", CourseEmail.LOCAL)
    fields.setdefault("day_offset", 7)
    fields.setdefault("local_time", time(9, 0))
    fields.setdefault("audience", {"kind": "all"})
    return CourseEmail.objects.create(cohort=cohort, **fields)


def _learners(cohort, scale: int = 1, tag: str = "") -> None:
    """3 in Berlin at gmail.com, 2 in New York at yahoo.com, 1 in Kolkata at example.org (times `scale`)."""
    for zone, domain, n in (("Europe/Berlin", "gmail.com", 3), ("America/New_York", "yahoo.com", 2),
                            ("Asia/Kolkata", "example.org", 1)):
        for i in range(n * scale):
            make_learner(cohort, f"{zone.split('/')[1].lower()}{tag}{i}@{domain.upper() if i == 0 else domain}",
                         timezone=zone)


def test_the_plan_counts_copies_per_zone_region_and_domain(cohort):
    _learners(cohort)
    p = planner.plan_for(_email(cohort))
    # 09:00 in Kolkata is 03:30 UTC, in Berlin 08:00, in New York 13:00.
    assert (p.recipients, p.copies, p.first, p.last) == (6, 6, MON + timedelta(hours=3, minutes=30),
                                                          MON + timedelta(hours=13))
    assert [(r.region, r.copies, r.first, r.last) for r in p.regions] == [
        ("Americas", 2, MON + timedelta(hours=13), MON + timedelta(hours=13)),
        ("Europe", 3, MON + timedelta(hours=8), MON + timedelta(hours=8)),
        ("Asia", 1, MON + timedelta(hours=3, minutes=30), MON + timedelta(hours=3, minutes=30))]
    assert p.domains == [("gmail.com", 3), ("yahoo.com", 2), ("example.org", 1)]  # case does not split them
    assert p.warnings == [] and p.rate == 0


def test_the_plan_follows_the_configured_rate_and_quotas(cohort, settings):
    settings.MAIL_RATE_LIMIT = 2
    settings.PROVIDER_QUOTAS = {"second": 1, "day": 4}
    _learners(cohort)
    p = planner.plan_for(_email(cohort))
    assert p.rate == 1 and p.quotas.source.startswith("MMOOC_PROVIDER_QUOTAS")
    # Days from 03:30: Kolkata's copy and Berlin's three (08:00:00-08:00:02) use the first
    # day's 4; New York's two wait for the next day, 03:30:00 and 03:30:01 on Tuesday.
    assert p.last == MON + timedelta(days=1, hours=3, minutes=30, seconds=1)
    assert p.warnings == ["Exceeds the daily quota of 4 by 2 copies: it needs 2 days' quotas and finishes at "
                          "Tue 16 Mar 2027 03:30 UTC."]


def test_another_scheduled_send_in_the_window_is_a_collision_but_the_emails_own_copies_are_not(cohort, organizer):
    _learners(cohort)
    other_cohort = make_cohort(cohort.course, "py-2", start=date(2027, 3, 8))
    for i in range(4):
        make_learner(other_cohort, f"other{i}@example.net", timezone="Europe/Berlin")
    scheduling.schedule(_email(other_cohort, subject="Week 2 of py-2"), organizer)
    later = _email(cohort, subject="Much later", day_offset=30)
    scheduling.schedule(later, organizer)  # due weeks after the window: no collision
    email = _email(cohort)
    p = planner.plan_for(email)
    assert [(o.label, o.copies) for o in p.collisions] == [("py-2: 'Week 2 of py-2'", 4)]
    assert p.warnings[-1].startswith("Collides with 1 other send: 4 copies of other messages are due between "
                                     "Mon 15 Mar 2027 03:30 UTC and Mon 15 Mar 2027 13:00 UTC")
    scheduling.schedule(email, organizer)
    assert [o.label for o in planner.plan_for(email).collisions] == ["py-2: 'Week 2 of py-2'"]


def test_the_plan_takes_the_same_queries_for_ten_times_the_learners(cohort):
    _learners(cohort)
    email = _email(cohort)
    with CaptureQueriesContext(connection) as small:
        planner.plan_for(email)
    _learners(cohort, scale=9, tag="more")
    with CaptureQueriesContext(connection) as large:
        p = planner.plan_for(email)
    assert p.copies == 60 and len(large) == len(small) <= 6


def _plan_section(text: str) -> str:
    start = text.index('id="send-plan"')
    return text[start:text.index("</section>", start)]


def test_the_page_of_a_draft_loads_its_plan_after_itself(client, organizer, cohort):
    _learners(cohort)
    email = _email(cohort)
    client.force_login(organizer)
    page = f"/dashboard/cohorts/{cohort.slug}/emails/{email.public_id}/"
    slot = _plan_section(client.get(page).content.decode())
    assert f'data-plan-url="{page}plan"' in slot and "recipients" not in slot
    for plan in (_plan_section(client.get(page + "plan").content.decode()),  # what the script loads
                 _plan_section(client.get(page, {"plan": "1"}).content.decode())):  # its link, without script
        assert "6 recipients, 6 copies." in plan
        assert ("First copy Mon 15 Mar 2027 03:30 UTC, last copy Mon 15 Mar 2027 13:00 UTC: the send takes "
                "9 h 30 min.") in plan
        assert re.search(r"<td>gmail\.com</td><td class=\"num\">3</td>", plan)
        assert re.search(r"<td>Americas</td><td class=\"num\">2</td><td>Mon 15 Mar 13:00</td>", plan)
        assert "Rate: no rate limit." in plan


def test_a_scheduled_email_or_one_that_cannot_be_scheduled_yet_has_no_plan(client, organizer, cohort):
    _learners(cohort)
    email, unscheduled = _email(cohort), _email(cohort, schedule=CourseEmail.LOCAL, day_offset=None)
    scheduling.schedule(email, organizer)
    client.force_login(organizer)
    for e in (email, unscheduled):
        page = f"/dashboard/cohorts/{cohort.slug}/emails/{e.public_id}/"
        assert 'id="send-plan"' not in client.get(page).content.decode()
        assert client.get(page + "plan").status_code == 204


def _week_one(**fields):
    data = {"subject": "Week 1", "body": "Hi {{ learner.first_name }}\n", "module": "1", "audience": "all",
            "schedule": "local", "day": "0", "time": "09:00", "action": "schedule"}
    return {**data, **fields}


def test_the_question_before_sending_at_once_shows_the_plan_and_confirming_still_schedules(client, organizer,
                                                                                          cohort):
    with time_machine.travel(datetime(2027, 3, 18, 12, tzinfo=UTC), tick=False):  # ten days in
        for i in range(12):
            make_learner(cohort, f"late{i}@example.org", timezone="Asia/Kolkata")
        client.force_login(organizer)
        url = f"/dashboard/cohorts/{cohort.slug}/emails/new"
        asked = client.post(url, _week_one())
        text = asked.content.decode()
        assert "Send 12 copies now?" in text and 'id="send-plan"' in text
        assert text.index('id="confirm-send"') < text.index('id="send-plan"') < text.index('id="compose"')
        assert ("12 copies are past due (their time has passed in the learners&#x27; zones): they go out at once, "
                "from Thu 18 Mar 2027 12:02 UTC.") in text
        assert not CourseEmail.objects.exists() and not Delivery.objects.exists()
        token = re.search(r'name="confirm" value="([^"]+)"', text).group(1)
        done = client.post(url, _week_one(confirm=token))
        assert done.status_code == 302
        assert CourseEmail.objects.get().state == CourseEmail.SCHEDULED and Delivery.objects.count() == 12
