from __future__ import annotations

from decimal import Decimal

import pytest

from mmooc import testing
from mmooc.learners.models import Learner
from mmooc.mailer.models import Delivery

pytestmark = pytest.mark.cohort_data(n=200)


def expected_copies(cohorts):
    scopes = {f"cohort:{c.pk}" for c in cohorts}
    rows = [d for d in Delivery.objects.select_related("message") if d.message.scope in scopes]
    sent = sum(1 for d in rows if d.status == "sent")
    waiting = sum(1 for d in rows if d.status in ("queued", "sending", "deferred"))
    return sent, waiting


def test_it_estimates_the_cohorts_cost_at_the_configured_price(client, organizer, data, settings):
    settings.MAIL_PRICE_PER_1000 = 1.25
    settings.MAIL_CURRENCY = "EUR"
    client.force_login(organizer)
    r = client.get(f"/dashboard/cohorts/{data.cohort.slug}/cost/")
    cost = r.context["cost"]
    sent, waiting = expected_copies([data.cohort])
    learners = sum(1 for x in data.learners if x.state == Learner.CONFIRMED)
    assert (cost.sent, cost.scheduled, cost.learners) == (sent, waiting, learners)
    assert cost.total == (Decimal("1.25") * (sent + waiting) / 1000).quantize(Decimal("0.01"))
    per_learner = Decimal("1.25") * (sent + waiting) / 1000 / learners
    assert cost.per_learner == per_learner.quantize(Decimal("0.0001"))
    assert f"{cost.total} EUR".encode() in r.content


def test_it_uses_080_per_thousand_by_default(client, organizer, data, settings):
    if hasattr(settings, "MAIL_PRICE_PER_1000"):
        del settings.MAIL_PRICE_PER_1000
    client.force_login(organizer)
    r = client.get(f"/dashboard/cohorts/{data.cohort.slug}/cost/")
    assert r.context["cost"].price_per_1000 == Decimal("0.8")


def test_it_adds_every_cohort_for_the_course(client, organizer, data):
    second = testing.make_cohort(data.cohort.course)
    testing.make_learner(second)
    client.force_login(organizer)
    r = client.get(f"/dashboard/courses/{data.cohort.course.slug}/cost/")
    cost = r.context["course_cost"]
    sent, waiting = expected_copies([data.cohort, second])
    assert (cost.sent, cost.scheduled) == (sent, waiting)
    assert cost.learners == sum(1 for x in data.learners if x.state == Learner.CONFIRMED) + 1


def test_it_shows_no_per_learner_cost_without_learners(client, organizer, db):
    cohort = testing.make_cohort()
    client.force_login(organizer)
    r = client.get(f"/dashboard/cohorts/{cohort.slug}/cost/")
    assert r.context["cost"].per_learner is None and r.context["cost"].total == Decimal("0.00")


def test_it_is_not_for_facilitators(client, facilitator, data):
    client.force_login(testing.facilitate(facilitator, data.groups[0]))
    assert client.get(f"/dashboard/cohorts/{data.cohort.slug}/cost/").status_code == 403
    assert client.get(f"/dashboard/courses/{data.cohort.course.slug}/cost/").status_code == 403
    overview = client.get(f"/dashboard/cohorts/{data.cohort.slug}/").content.decode()
    assert "Mail cost" not in overview and "/cost/" not in overview


def test_it_refuses_an_outsider(client, outsider, data):
    client.force_login(outsider)
    assert client.get(f"/dashboard/cohorts/{data.cohort.slug}/cost/").status_code == 403
    assert client.get(f"/dashboard/courses/{data.cohort.course.slug}/cost/").status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, data):
    assert client.get(f"/dashboard/cohorts/{data.cohort.slug}/cost/").status_code == 302


def test_it_answers_404_for_an_unknown_course(client, organizer, db):
    client.force_login(organizer)
    assert client.get("/dashboard/courses/nothing/cost/").status_code == 404


def test_it_refuses_post(client, organizer, data):
    client.force_login(organizer)
    assert client.post(f"/dashboard/cohorts/{data.cohort.slug}/cost/").status_code == 405


def test_the_course_page_counts_every_cohort_in_the_same_queries_however_many_there_are(
        client, organizer, data, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    url = f"/dashboard/courses/{data.cohort.course.slug}/cost/"
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(4):
        testing.make_learner(testing.make_cohort(data.cohort.course))
    with django_assert_max_num_queries(len(one)):
        r = client.get(url)
    assert len(r.context["per_cohort"]) == 5


def test_copies_are_counted_without_a_condition_on_their_status(client, organizer, data):
    """A condition on the status leads SQLite to read every copy's row through the (status,
    not_before) index; counting all and keeping the billed ones reads the (message, status) index."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/dashboard/cohorts/{data.cohort.slug}/cost/")
    counting = [q["sql"] for q in queries if 'FROM "mailer_delivery"' in q["sql"]]
    assert len(counting) == 1 and '"mailer_delivery"."status" IN' not in counting[0]


def test_copies_are_counted_per_status_without_sorting_them(client, organizer, data):
    """One row per cohort with a filtered count per status, read in the order of the (message,
    status) index: grouping by status made SQLite sort every copy first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    with CaptureQueriesContext(connection) as queries:
        r = client.get(f"/dashboard/cohorts/{data.cohort.slug}/cost/")
    [sql] = [q["sql"] for q in queries if 'FROM "mailer_delivery"' in q["sql"]]
    plan = testing.query_plan(sql)
    assert "TEMP B-TREE" not in plan, plan
    assert "delivery_progress" in plan or connection.vendor != "sqlite", plan
    assert r.context["cost"].copies == Delivery.objects.filter(
        message__scope=data.cohort.scope, status__in=[Delivery.SENT, Delivery.QUEUED, Delivery.SENDING,
                                                      Delivery.DEFERRED]).count()
