"""compose_many and enqueue_many: many messages and their deliveries in a few statements."""

from __future__ import annotations

import pytest

from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import OutboxError, Recipient

pytestmark = pytest.mark.django_db
UNSUB = {"unsubscribe_url": "https://course.example.org/u/abc"}


def fields(n: int, **kw) -> dict:
    return {"kind": Message.SUBSCRIBED, "subject": f"Welcome to group {n}", "body": "Hello {{ name }}",
            "list_id": f"py-3-group-{n}.lists.example.org", "reply_to": f"py-3-group-{n}@lists.example.org", **kw}


def recipients(n: int, start: int = 0) -> list[Recipient]:
    return [Recipient(f"l{i}@example.org", UNSUB, ref=f"learner-{i}") for i in range(start, start + n)]


def test_it_composes_many_messages_as_compose_would():
    many = outbox.compose_many([fields(1), fields(2)])
    one = outbox.compose(**fields(3))
    assert [m.pk is not None for m in many] == [True, True]
    assert Message.objects.count() == 3
    for m in many:
        m.refresh_from_db()
        assert (m.kind, m.from_email, m.state) == (one.kind, one.from_email, one.state)


def test_it_composes_nothing_when_one_message_is_bad():
    with pytest.raises(OutboxError):
        outbox.compose_many([fields(1), fields(2, subject="Line\nbreak")])
    assert not Message.objects.exists()


def test_it_enqueues_each_messages_recipients():
    a, b = outbox.compose_many([fields(1), fields(2)])
    assert outbox.enqueue_many([(a, recipients(3)), (b, recipients(2, start=3))]) == 5
    assert sorted(a.deliveries.values_list("recipient", flat=True)) == [f"l{i}@example.org" for i in range(3)]
    assert sorted(b.deliveries.values_list("ref", flat=True)) == ["learner-3", "learner-4"]
    assert Delivery.objects.filter(status=Delivery.QUEUED).count() == 5


def test_it_makes_the_same_rows_as_enqueue():
    a, b = outbox.compose_many([fields(1), fields(2)])
    outbox.enqueue(a, recipients(1))
    outbox.enqueue_many([(b, recipients(1))])
    one, many = (m.deliveries.values("recipient", "context", "ref", "status", "attempts").get() for m in (a, b))
    assert one == many


def test_its_rows_start_as_never_tried():
    # On PostgreSQL the rows go in by COPY, written column by column: a wrong starting value
    # there (one attempt already counted, say) would cost every copy one retry.
    a, b = outbox.compose_many([fields(1), fields(2)])
    outbox.enqueue(a, recipients(2))
    outbox.enqueue_many([(b, recipients(2, start=2))])
    assert set(Delivery.objects.values_list("status", "attempts", "provider_id", "last_error")) == {
        (Delivery.QUEUED, 0, "", "")}


def test_it_gives_every_delivery_its_own_message_id():
    a, b = outbox.compose_many([fields(1), fields(2)])
    outbox.enqueue_many([(a, recipients(3)), (b, recipients(3))])
    assert len({d.header_message_id() for d in Delivery.objects.all()}) == 6


def test_it_skips_recipients_already_queued():
    a, b = outbox.compose_many([fields(1), fields(2)])
    outbox.enqueue(a, recipients(2))
    assert outbox.enqueue_many([(a, recipients(3)), (b, recipients(1))]) == 2
    assert (a.deliveries.count(), b.deliveries.count()) == (3, 1)


def test_it_refuses_all_messages_when_one_recipient_is_bad():
    a, b = outbox.compose_many([fields(1), fields(2)])
    with pytest.raises(OutboxError):
        outbox.enqueue_many([(a, recipients(2)), (b, [Recipient("not an address", UNSUB)])])
    assert not Delivery.objects.exists()


def test_it_refuses_a_cancelled_message_and_adds_nothing():
    a, b = outbox.compose_many([fields(1), fields(2)])
    outbox.cancel(b)
    with pytest.raises(OutboxError, match="cancelled"):
        outbox.enqueue_many([(a, recipients(2)), (b, recipients(2))])
    assert not Delivery.objects.exists()


def test_it_adds_nothing_for_no_recipients():
    (a,) = outbox.compose_many([fields(1)])
    assert outbox.enqueue_many([(a, [])]) == 0
    assert outbox.enqueue_many([]) == 0
    assert outbox.compose_many([]) == []


def test_it_enqueues_many_messages_in_a_constant_number_of_queries(django_assert_max_num_queries):
    messages = outbox.compose_many([fields(n) for n in range(50)])
    with django_assert_max_num_queries(6):
        assert outbox.enqueue_many((m, recipients(40, start=40 * i)) for i, m in enumerate(messages)) == 2000


# for_copy: the rows' COPY text is made by prepare (PostgreSQL's path; on SQLite it goes unused).
FOR_COPY = pytest.mark.parametrize("for_copy", [False, True], ids=["rows", "copy-text"])


@FOR_COPY
def test_prepared_rows_are_the_rows_enqueue_writes(for_copy):
    a, b = outbox.compose_many([fields(1), fields(2)])
    outbox.enqueue(a, recipients(3))
    assert outbox.enqueue_prepared(b, outbox.prepare(b, recipients(3), for_copy=for_copy)) == 3
    rows = [list(m.deliveries.order_by("recipient").values("recipient", "context", "ref", "status", "attempts"))
            for m in (a, b)]
    assert rows[0] == rows[1]


def test_prepare_checks_as_enqueue_does_and_writes_nothing():
    message = outbox.compose(**fields(1))
    with pytest.raises(OutboxError, match="unsubscribe_url"):
        outbox.prepare(message, [*recipients(2), Recipient("x@example.org", {}, ref="x")])
    with pytest.raises(OutboxError, match="not a valid email address"):
        outbox.prepare(message, [Recipient("not an address", UNSUB)])
    assert not Delivery.objects.exists()


def test_rows_prepared_for_one_message_are_refused_for_another():
    a, b = outbox.compose_many([fields(1), fields(2)])
    with pytest.raises(OutboxError, match="another message"):
        outbox.enqueue_prepared(b, outbox.prepare(a, recipients(1)))
    assert not Delivery.objects.exists()


def test_prepared_rows_of_a_cancelled_message_are_refused():
    message = outbox.compose(**fields(1))
    prepared = outbox.prepare(message, recipients(2))
    outbox.cancel(message)
    with pytest.raises(OutboxError, match="cancelled"):
        outbox.enqueue_prepared(message, prepared)
    assert not Delivery.objects.filter(status=Delivery.QUEUED).exists()


@FOR_COPY
def test_a_repeated_address_among_prepared_rows_is_written_once(for_copy):
    message = outbox.compose(**fields(1))
    outbox.enqueue(message, recipients(1))
    prepared = outbox.prepare(message, [*recipients(2), Recipient("L1@example.org", UNSUB)], for_copy=for_copy)
    assert outbox.enqueue_prepared(message, prepared) == 1
    assert message.deliveries.count() == 2


@FOR_COPY
def test_prepared_values_with_tabs_newlines_and_backslashes_are_written_as_given(for_copy):
    message = outbox.compose(**{**fields(1), "body": "Hello {{ name }}"})
    odd = ["tab\there", "line\nbreak", "back\\slash \\N", "\u00e9t\u00e9 \u2028", "\u00e9\tt\r\n"]
    given = [Recipient(f"l{i}@example.org", {**UNSUB, "name": v}, ref=f"learner-{i}") for i, v in enumerate(odd)]
    assert outbox.enqueue_prepared(message, outbox.prepare(message, given, for_copy=for_copy)) == len(odd)
    assert [d.context["name"] for d in message.deliveries.order_by("recipient")] == odd


def test_refreshed_copies_are_written_a_chunk_at_a_time(monkeypatch):
    message = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 2", body="In {{ group.name }}")
    outbox.enqueue(message, [Recipient(f"l{i}@example.org", {**UNSUB, "group.name": ""}, ref=f"r{i}")
                             for i in range(1000)])
    sizes: list[int] = []
    real = Delivery.objects.bulk_update

    def bulk_update(objs, *args, **kwargs):
        sizes.append(len(objs))
        return real(objs, *args, **kwargs)

    monkeypatch.setattr(Delivery.objects, "bulk_update", bulk_update)
    assert outbox.refresh_queued(message, {f"r{i}": {"group.name": "Owls"} for i in range(1000)}) == 1000
    assert sizes == [900, 100]  # never the whole cohort's copies held at once
    assert {d.context["group.name"] for d in message.deliveries.all()} == {"Owls"}


def test_its_messages_are_stored_value_for_value_as_compose_stores_them():
    # On PostgreSQL they go in by COPY: tabs, newlines and backslashes in a body, and JSON
    # headers, must come back as they were.
    odd = {"body": "Tab\there,\nnew line, back\\slash \\N and \\t, «ünïcödé» {{ name }}\r\n",
           "footer": "1 Example Street\n\\N", "scope": "cohort:7", "tag": "group-welcome", "list_name": "Group 1",
           "headers": {"Content-Language": "fr", "X-Note": 'say "hi"\\'}}
    (many,) = outbox.compose_many([fields(1, **odd)])
    one = outbox.compose(**fields(1, **odd))
    names = [f.attname for f in Message._meta.concrete_fields if f.name not in ("id", "public_id", "created_at")]
    stored = Message.objects.filter(pk__in=[many.pk, one.pk]).values(*names)
    assert stored[0] == stored[1] == {name: getattr(one, name) for name in names}
    assert Message.objects.get(pk=many.pk).public_id == many.public_id


def test_its_messages_keep_the_ids_they_are_given_and_later_ones_follow():
    messages = outbox.compose_many([fields(n) for n in range(5)])
    assert [m.subject for m in Message.objects.filter(pk__in=[m.pk for m in messages]).order_by("pk")] == [
        f"Welcome to group {n}" for n in range(5)]
    assert all(not m._state.adding for m in messages)
    later = outbox.compose(**fields(9))  # the ids were taken from the table's own sequence
    assert later.pk > max(m.pk for m in messages)
    assert outbox.enqueue_many([(messages[0], recipients(2))]) == 2


@pytest.mark.postgres
def test_on_postgresql_its_messages_are_copied_not_inserted_statement_by_statement():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        outbox.compose_many([fields(n) for n in range(600)])
    sql = [q["sql"] for q in captured.captured_queries]
    assert not [s for s in sql if s.startswith("INSERT")]  # COPY goes past Django's cursor
    assert len(sql) == 1 and "nextval" in sql[0]
    assert Message.objects.count() == 600
