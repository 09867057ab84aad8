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


def predicate(index: str) -> str | None:
    """The WHERE of a partial index, as PostgreSQL prints it (None for a whole one)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = %s::regclass",
                       [index])
        return cursor.fetchone()[0]


def test_provider_ids_index_holds_only_the_copies_that_have_one():
    assert predicate("delivery_provider_id") == "(NOT ((provider_id)::text = ''::text))"


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


def test_message_ids_index_holds_only_the_ids_kept_in_rows():
    # A composed message's copies keep none: theirs is made from the ids (Message.copy_message_id).
    assert predicate("delivery_message_id") == "(NOT ((rfc_message_id)::text = ''::text))"


@pytest.mark.parametrize("kept", [False, True], ids=["made-from-the-ids", "kept-in-the-row"])
def test_a_copy_is_found_by_its_message_id_through_an_index(kept):
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org") for i in range(200)])
    wanted = msg.deliveries.get(recipient="l7@example.org")
    if kept:
        Delivery.objects.filter(pk=wanted.pk).update(rfc_message_id="<old-7@course.example.org>")
    header = wanted.header_message_id() if not kept else "<old-7@course.example.org>"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailer_delivery")
        cursor.execute("SET LOCAL enable_seqscan = off")
        with CaptureQueriesContext(connection) as queries:
            found = events.match_delivery(header, "l7@example.org")
        assert found == wanted
        lookup = next(q["sql"] for q in queries if 'FROM "mailer_delivery"' in q["sql"]
                      and "rfc_message_id" in q["sql"].split("WHERE", 1)[-1])
        cursor.execute("EXPLAIN " + lookup)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "delivery_message_id" in plan and "Seq Scan" not in plan, plan


BYTEWISE = {"recipient", "ref", "status", "rfc_message_id", "provider_id"}


def test_indexed_text_is_compared_byte_by_byte_whatever_the_locale():
    """COLLATE "C" on the columns, and so on every index over them: a database made with a
    language's locale would otherwise compare each copy's values by that language's rules."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name, collation_name FROM information_schema.columns "
                       "WHERE table_name = 'mailer_delivery' AND collation_name IS NOT NULL")
        columns = dict(cursor.fetchall())
        cursor.execute("SELECT i.relname, c.collname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                       "CROSS JOIN unnest(x.indcollation) AS k(oid) JOIN pg_collation c ON c.oid = k.oid "
                       "WHERE x.indrelid = 'mailer_delivery'::regclass AND k.oid <> 0")
        indexes = cursor.fetchall()
    assert columns == dict.fromkeys(BYTEWISE, "C")
    assert {name for name, _ in indexes} == {"delivery_once_per_recipient", "delivery_due", "delivery_progress",
                                             "delivery_ref", "delivery_provider_id", "delivery_message_id"}
    assert {collation for _, collation in indexes} == {"C"}


def test_lookups_by_reference_and_address_still_use_the_indexes():
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", ref=f"ref-{i}") for i in range(200)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailer_delivery")
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = {}
        due = Delivery.objects.filter(status=Delivery.QUEUED, not_before__lte=msg.created_at)
        for name, rows in [("delivery_ref", Delivery.objects.filter(ref="ref-7")),
                           ("delivery_once_per_recipient", msg.deliveries.filter(recipient__in=["l7@example.org"])),
                           ("delivery_due", due)]:
            sql, params = rows.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    assert all(name in plan for name, plan in plans.items()), plans
    assert Delivery.objects.get(ref="ref-7").recipient == "l7@example.org"


def test_addresses_still_match_as_before():
    """Equal bytes are the same address, a repeat is still refused by the unique index, and
    a provider's report with the address in capitals still finds its copy."""
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    assert outbox.enqueue(msg, [Recipient("Zoë.Ünal@example.org"), Recipient("zoe@example.org")]) == 2
    assert outbox.enqueue(msg, [Recipient("Zoë.Ünal@example.org"), Recipient("zoe@example.org")]) == 0
    assert list(msg.deliveries.filter(recipient="Zoë.Ünal@example.org").values_list("recipient", flat=True)) == [
        "Zoë.Ünal@example.org"]
    job = next(j for j in engine.claim(10) if j.recipient == "zoe@example.org")
    engine.record([Result(job.id, SENT, provider_id="pm-9")], {job.id: job}, max_attempts=5)
    found = events.match_delivery("pm-9", "ZOE@EXAMPLE.ORG")
    assert found is not None and found.pk == job.id


POST = b"From: a@example.org\r\nSubject: Hi\r\nMessage-ID: <post-1@mail.example.org>\r\n\r\nHi\r\n"


def test_a_relayed_posts_copies_are_found_by_its_message_id_through_indexes():
    """The post's Message-ID is kept once, by its message: its copies are found through
    message_rfc_message_id, then by their message, never by reading every copy."""
    msg = outbox.compose_raw(raw=POST, recipients=[Recipient(f"l{i}@example.org", ref=f"r{i}") for i in range(200)])
    assert msg.rfc_message_id == "<post-1@mail.example.org>"
    assert set(msg.deliveries.values_list("rfc_message_id", flat=True)) == {""}
    wanted = msg.deliveries.get(recipient="l7@example.org")
    assert wanted.header_message_id() == "<post-1@mail.example.org>"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE mailer_delivery")
        cursor.execute("ANALYZE mailer_message")
        cursor.execute("SET LOCAL enable_seqscan = off")
        with CaptureQueriesContext(connection) as queries:
            found = events.match_delivery("post-1@mail.example.org", "l7@example.org")
        assert found == wanted
        plans = []
        for query in queries:
            if "rfc_message_id" in query["sql"].split("WHERE", 1)[-1]:
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert any("message_rfc_message_id" in plan for plan in plans), plans
    assert not any("Seq Scan" in plan for plan in plans), plans
