from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc.emails.models import CourseEmail
from mmooc.learners.models import Learner
from mmooc.lib.timezones import utc_offset_hours
from mmooc.mailer.models import Delivery, Suppression
from mmooc.testing import facilitate
from mmooc.testing.cohort_data import make_cohort_data

pytestmark = pytest.mark.cohort_data(n=300)


def url(data):
    return f"/dashboard/cohorts/{data.cohort.slug}/"


def confirmed(data):
    return [x for x in data.learners if x.state == Learner.CONFIRMED]


def test_it_counts_learners_per_state(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    expected = Counter(x.state for x in data.learners)
    assert r.context["states"] == {s: expected[s] for s, _ in Learner.STATES}
    assert f'data-stat="confirmed">{expected["confirmed"]}<'.encode() in r.content
    assert f'data-stat="pending">{expected["pending"]}<'.encode() in r.content


def test_it_counts_group_and_solo_learners(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    wants = [x for x in confirmed(data) if x.wants_group]
    # the generator puts each learner who wants a group in one
    assert r.context["group_vs_solo"] == {"wants_group": len(wants), "in_group": len(wants),
                                          "solo": len(confirmed(data)) - len(wants)}


def test_it_counts_countries_and_languages_of_confirmed_learners(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    assert dict(r.context["countries"]) == dict(Counter(x.country for x in confirmed(data)))
    assert dict(r.context["languages"]) == dict(Counter(x.language for x in confirmed(data)))


def test_it_counts_suppressions_and_unsubscribes_of_this_cohort_only(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    keys = {x.email_key for x in data.learners}
    expected = Counter(s.reason for s in Suppression.objects.all() if s.address in keys)
    assert r.context["suppressions"] == {code: expected[code] for code, _ in Suppression.REASONS}
    assert r.context["suppressions"]["manual"] == 0  # the manual one is not a learner of the cohort
    assert r.context["unsubscribes"] == len(data.learners[::25])


def test_it_draws_signups_per_day(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    chart = r.context["signups_chart"]
    assert chart.startswith("<svg") and "<script" not in chart
    per_day = Counter(x.signed_up_at.date() for x in data.learners)
    values = [int(v) for v in re.findall(r'<desc class="value">(\d+)</desc>', chart)]
    days = (max(per_day) - min(per_day)).days + 1
    assert len(values) == days and sum(values) == len(data.learners)
    assert sorted(v for v in values if v) == sorted(per_day.values())


def test_it_draws_learners_per_utc_offset_on_the_start_date(client, organizer, data):
    client.force_login(organizer)
    r = client.get(url(data))
    expected = Counter(utc_offset_hours(x.timezone, data.cohort.start_date) for x in confirmed(data))
    chart = r.context["offsets_chart"]
    values = [int(v) for v in re.findall(r'<desc class="value">(\d+)</desc>', chart)]
    assert values == [expected[k] for k in sorted(expected)]
    assert "UTC+9:30" in chart or "UTC+10:30" in chart  # Adelaide's half hour is kept


def test_it_shows_the_next_and_last_course_email(client, organizer, data):
    later = CourseEmail.objects.create(cohort=data.cohort, subject="Week 2", body="x",
                                       audience={"kind": "all"}, state=CourseEmail.SCHEDULED,
                                       send_at=timezone.now() + timedelta(days=3))
    client.force_login(organizer)
    r = client.get(url(data))
    assert r.context["last_email"].email == data.email
    assert r.context["next_email"].email == data.email  # its waiting copies are due now
    waiting = [d for d in data.deliveries if d.status in ("queued", "sending", "deferred")]
    row = next(e for e in r.context["emails"] if e.email == data.email)
    assert row.copies.waiting == len(waiting)
    assert row.copies.sent == sum(1 for d in data.deliveries if d.status == "sent")
    Delivery.objects.filter(pk__in=[d.pk for d in waiting]).update(status=Delivery.CANCELLED)
    r = client.get(url(data))
    assert r.context["next_email"].email == later
    assert f"/dashboard/emails/{later.public_id}/".encode() in r.content


def test_it_works_for_a_facilitator(client, facilitator, data):
    client.force_login(facilitate(facilitator, data.groups[0]))
    r = client.get(url(data))
    assert r.status_code == 200
    assert b"/export/" not in r.content  # no export link for a facilitator


def test_it_refuses_an_outsider(client, outsider, data):
    client.force_login(outsider)
    assert client.get(url(data)).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, data):
    r = client.get(url(data))
    assert r.status_code == 302 and r["Location"].startswith("/dashboard/login/?next=")


def test_it_answers_404_for_an_unknown_cohort(client, organizer, db):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/no-such-cohort/").status_code == 404


def test_it_refuses_post(client, organizer, data):
    client.force_login(organizer)
    assert client.post(url(data)).status_code == 405


def test_it_uses_a_fixed_number_of_queries(client, organizer, data, django_assert_max_num_queries):
    client.force_login(organizer)
    make_cohort_data(n=30)  # another cohort changes nothing
    # One of them reads the domains paused for every staff page's notice, one the course emails'
    # messages per language (for their states, and once more for their copies: every language's
    # copies are the email's); the learner counts are one statement, the suppressions another.
    with django_assert_max_num_queries(20):
        client.get(url(data))


def test_it_runs_no_statement_twice(client, organizer, data):
    """Each aggregate over the cohort's learners is read once, for the numbers and the charts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    client.get(url(data))
    with CaptureQueriesContext(connection) as queries:
        client.get(url(data))
    repeated = [sql for sql, n in Counter(q["sql"] for q in queries).items() if n > 1 and "learners_learner" in sql]
    assert repeated == []


def _statements(client, organizer, data):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    with CaptureQueriesContext(connection) as queries:
        client.get(url(data))
    return [q["sql"] for q in queries.captured_queries]


def test_the_learner_counts_come_from_one_statement_that_reads_one_index(client, organizer, data):
    """States, wishes for a group, countries, languages and zones: one GROUP BY of the cohort's
    learners whose columns are all in the (cohort, state, country, language, timezone,
    wants_group) index, instead of a scan of the cohort's rows per number."""
    from mmooc import testing

    found = [sql for sql in _statements(client, organizer, data)
             if 'FROM "learners_learner"' in sql.split("WHERE")[0] and "GROUP BY" in sql]
    [breakdown] = [sql for sql in found if '"learners_learner"."country"' in sql]
    assert "learner_cohort_breakdown" in testing.query_plan(breakdown)
    assert not [sql for sql in found if sql != breakdown and '"learners_learner"."language"' in sql]


def test_signups_per_day_are_counted_from_the_signup_time_index_alone(client, organizer, data):
    """Counting ids made PostgreSQL read each learner's row (0.4 s at a million): the statement
    names no column but the (cohort, signed_up_at) index's, so that index alone answers it (a
    test's few rows do not show that plan: PostgreSQL reads a tiny table through any index)."""
    [sql] = [sql for sql in _statements(client, organizer, data)
             if 'FROM "learners_learner"' in sql and '"signed_up_at"' in sql.split("FROM")[0] and "GROUP BY" in sql]
    columns = set(re.findall(r'"learners_learner"\."(\w+)"', sql))
    assert columns == {"signed_up_at", "cohort_id"} and "COUNT(*)" in sql


def test_the_cohorts_suppressions_are_each_looked_up_among_its_learners(client, organizer, data):
    """Few suppressions, each found in the (cohort, email_key) index: the cohort's 100,000
    addresses are not gathered first."""
    from django.db import connection

    from mmooc import testing

    [sql] = [sql for sql in _statements(client, organizer, data) if 'FROM "mailer_suppression"' in sql]
    assert "EXISTS(" in sql
    if connection.vendor == "sqlite":  # PostgreSQL picks its own join for a semi-join of tiny tables
        assert "(cohort_id=? AND email_key=?)" in testing.query_plan(sql)


def _outbox_counts(statements):
    """The statements that count outbox rows per message (the cost's per-cohort count aside)."""
    return [sql for sql in statements if 'FROM "mailer_delivery"' in sql and "COUNT(" in sql.upper()
            and '"mailer_message"."scope"' not in sql]


def test_with_kept_counts_the_course_emails_copies_are_not_counted_at_each_load(client, organizer, data, settings):
    settings.MAIL_COUNTS_SECONDS = 120
    assert _outbox_counts(_statements(client, organizer, data))  # the first look counts them
    again = _statements(client, organizer, data)
    assert _outbox_counts(again) == []
    assert any("mailer_messagecounts" in sql for sql in again)


def test_it_says_when_the_copies_were_counted(client, organizer, data, settings):
    settings.MAIL_COUNTS_SECONDS = 120
    client.force_login(organizer)
    client.get(url(data))
    r = client.get(url(data))
    assert r.context["counts_as_of"] is not None
    assert b"data-counts-as-of" in r.content and b"Copies counted as of" in r.content


def test_the_emails_state_follows_the_kept_counts(client, organizer, data, settings):
    """One source: the state moves to sent when the counts say none is waiting, after the job."""
    from mmooc.mailer import counts

    settings.MAIL_COUNTS_SECONDS = 120
    client.force_login(organizer)
    client.get(url(data))
    data.email.refresh_from_db()
    Delivery.objects.filter(message=data.email.message, status__in=("queued", "sending", "deferred")).update(
        status=Delivery.SENT)
    client.get(url(data))
    assert CourseEmail.objects.get(pk=data.email.pk).state != CourseEmail.SENT
    counts.run()
    r = client.get(url(data))
    assert CourseEmail.objects.get(pk=data.email.pk).state == CourseEmail.SENT
    row = next(e for e in r.context["emails"] if e.email == data.email)
    assert row.copies.waiting == 0
