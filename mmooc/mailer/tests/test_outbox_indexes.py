"""The outbox's indexes on PostgreSQL: what each copy written must add to them.

No update of a copy (claimed, then sent) can be HOT: status is in delivery_due and
delivery_progress, which the claim and the progress counts need. So every index gets an
entry per row version, unless it is partial and the row is outside it: a copy sent by
SMTP has no provider id, and delivery_provider_id holds only the copies that have one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc.mailer import engine, events, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient
from mmooc.mailer.transports import SENT, Result

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_provider_ids_index_holds_only_the_copies_that_have_one():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_expr(indpred, indrelid) FROM pg_index "
                       "WHERE indexrelid = 'delivery_provider_id'::regclass")
        (predicate,) = cursor.fetchone()
    assert predicate == "(NOT ((provider_id)::text = ''::text))"


def test_events_still_find_their_copy_through_it():
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org") for i in range(50)])
    jobs = {j.id: j for j in engine.claim(50)}
    first = min(jobs)
    engine.record([Result(i, SENT, provider_id="pm-1" if i == first else "") for i in jobs], jobs, max_attempts=5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailer_delivery")
        cursor.execute("SET LOCAL enable_seqscan = off")
        with CaptureQueriesContext(connection) as queries:
            found = events.match_delivery("pm-1", "l0@example.org")
        assert found is not None and found.pk == first and found.status == Delivery.SENT
        lookup = next(q["sql"] for q in queries if "provider_id" in q["sql"].split("WHERE", 1)[-1])
        cursor.execute("EXPLAIN " + lookup)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "delivery_provider_id" in plan, plan
