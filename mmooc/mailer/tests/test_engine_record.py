"""How a batch's outcomes are written: on PostgreSQL, a batch whose copies were all accepted
is one statement, its counts included (no BEGIN and COMMIT round trips)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient
from mmooc.mailer.transports import SENT, TRANSIENT, Result
from mmooc.operations import counters

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def claimed(n: int) -> dict[int, engine.Job]:
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org") for i in range(n)])
    return {j.id: j for j in engine.claim(n)}


def test_a_batch_all_accepted_is_recorded_in_one_statement_with_its_counts():
    jobs = claimed(30)
    before = counters.totals().get(("deliveries", "sent"), 0)
    with CaptureQueriesContext(connection) as queries:
        tally = engine.record([Result(i, SENT) for i in jobs], jobs, max_attempts=5)
    assert len(queries) == 1 and tally.sent == 30
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.SENT}
    assert Delivery.objects.filter(sent_at__isnull=True).count() == 0
    assert counters.totals()[("deliveries", "sent")] == before + 30


def test_a_batch_with_other_outcomes_is_still_recorded_whole():
    jobs = claimed(3)
    first, second, third = sorted(jobs)
    before = counters.totals()
    engine.record([Result(first, SENT), Result(second, SENT), Result(third, TRANSIENT, "451 busy")], jobs,
                  max_attempts=5)
    assert dict(Delivery.objects.values_list("pk", "status")) == {
        first: Delivery.SENT, second: Delivery.SENT, third: Delivery.DEFERRED}
    after = counters.totals()
    assert after[("deliveries", "sent")] - before.get(("deliveries", "sent"), 0) == 2
    assert after[("deliveries", "deferred")] - before.get(("deliveries", "deferred"), 0) == 1


def test_the_record_finds_its_rows_by_id_whatever_the_statistics_say():
    """With statistics that see almost no row in 'sending' (most copies are sent), the planner
    would look for the batch's rows through delivery_due's 'sending' range, which holds an
    entry for every row claimed since the last vacuum."""
    jobs = claimed(300)
    Delivery.objects.update(status=Delivery.SENT)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailer_delivery")
    Delivery.objects.filter(pk__in=list(jobs)[:25]).update(status=Delivery.SENDING)
    some = {i: jobs[i] for i in list(jobs)[:25]}
    for results in ([Result(i, SENT) for i in some], [Result(i, TRANSIENT, "451 busy") for i in some]):
        with CaptureQueriesContext(connection) as queries:
            engine.record(results, some, max_attempts=5)
        for query in queries:
            if query["sql"].lstrip().upper().startswith(("UPDATE", "WITH")):
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN " + query["sql"])
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "delivery_due" not in plan, plan
