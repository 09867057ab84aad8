"""The weekly summary posted to each group (the periodic job `checkins.summary`)."""

from __future__ import annotations

from datetime import datetime

import pytest

from mmooc.checkins.models import CohortSettings, Summary
from mmooc.checkins.summary import send_summaries, summary_week
from mmooc.checkins.tests.helpers import say
from mmooc.lib import periodic
from mmooc.mailer.models import Delivery
from mmooc.testing import add_member

pytestmark = pytest.mark.django_db


def summaries():
    return list(Delivery.objects.filter(message__tag="checkin-summary").select_related("message"))


def test_it_is_a_periodic_job():
    assert "checkins.summary" in [job.name for job in periodic.jobs()]


@pytest.mark.parametrize(("moment", "week"), [
    ("2026-11-04T12:00Z", None),     # week 1: nothing to sum up yet
    ("2026-11-09T12:00Z", 1),        # week 2: week 1
    ("2026-11-18T12:00Z", 2),        # week 3: week 2
    ("2026-12-21T12:00Z", 7),        # after the end: the last week
    ("2027-01-30T12:00Z", None),     # long after
    ("2026-10-30T12:00Z", None),     # before the start
])
def test_the_week_summed_up(cohort, moment, week):
    assert summary_week(cohort, datetime.fromisoformat(moment.replace("Z", "+00:00"))) == week


def test_each_group_gets_one_summary_of_last_week(group):
    say(group, "alice@example.org", 2, "done")
    say(group, "bob@example.org", 2, "stuck", "recursion")
    say(group, "carol@example.org", 2, "skip")
    assert send_summaries() == 1
    assert send_summaries() == 0  # once per group and week
    copies = summaries()
    assert sorted(d.recipient for d in copies) == ["alice@example.org", "bob@example.org", "carol@example.org"]
    message = copies[0].message
    assert message.body.startswith("1 of 3 said DONE for week 2.")
    assert "1 is stuck on recursion (Bob) — can you help?" in message.body
    assert "1 skipped the week." in message.body
    assert "“DONE 3” or “STUCK 3 loops”" in message.body  # this week's number
    assert message.reply_to == f"Group 1 <{group.address}>" and message.list_id == group.list_id
    assert all(d.context["unsubscribe_url"] for d in copies)


def test_a_spanish_group_gets_its_summary_in_spanish(group):
    group.language = "es"
    group.save(update_fields=["language"])
    say(group, "alice@example.org", 2, "done")
    say(group, "bob@example.org", 2, "stuck", "recursion")
    send_summaries()
    message = summaries()[0].message
    assert message.subject == "[Group 1] Semana 2: cómo va el grupo"
    assert message.body.startswith("1 de 3 dijeron DONE para la semana 2.")
    assert "1 persona se atascó con recursion (Bob): ¿puedes ayudar?" in message.body
    assert message.headers["Content-Language"] == "es"
    assert Summary.objects.get().text == message.body


def test_stuck_topics_are_counted_and_escaped(group):
    add_member(group, "dan@example.org", name="Dan")
    say(group, "alice@example.org", 2, "stuck", "Recursion")
    say(group, "bob@example.org", 2, "stuck", "recursion")
    say(group, "dan@example.org", 2, "stuck", "[links](http://x) {{ y }}")
    send_summaries()
    body = summaries()[0].message.body
    assert "3 are stuck on recursion, \\[links\\]\\(http://x\\) \\{\\{ y \\}\\}" in body


def test_a_group_where_nobody_checked_in_gets_nothing(group):
    assert send_summaries() == 0 and not Summary.objects.exists()


def test_this_weeks_check_ins_wait_for_next_week(group):
    say(group, "alice@example.org", 3, "done")
    assert send_summaries() == 0


def test_staff_can_turn_summaries_off_for_a_cohort(group, cohort):
    CohortSettings.objects.create(cohort=cohort, weekly_summary=False)
    say(group, "alice@example.org", 2, "done")
    assert send_summaries() == 0 and not summaries()


def test_members_who_left_get_no_summary(group):
    from django.utils import timezone

    group.memberships.filter(learner__email="carol@example.org").update(left_at=timezone.now())
    say(group, "alice@example.org", 2, "done")
    send_summaries()
    assert sorted(d.recipient for d in summaries()) == ["alice@example.org", "bob@example.org"]
    assert summaries()[0].message.body.startswith("1 of 2 said DONE")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_summaries_on_postgresql(group):
    say(group, "alice@example.org", 2, "done")
    assert send_summaries() == 1 and send_summaries() == 0
    assert len(summaries()) == 3
