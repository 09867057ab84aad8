"""A copy's context is kept as JSON text on both databases (JSONTextField): PostgreSQL no
longer parses each copy's values into jsonb when a million are written, nor prints them
back when the engine claims them. What goes in comes back, by every way a context is
written, and asking the database for a key says plainly that it cannot."""

from __future__ import annotations

import pytest
from django.core.exceptions import FieldError
from django.db import connection

from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient

pytestmark = pytest.mark.django_db
UNSUB = "https://course.example.org/u/abc"
VALUES = {"unsubscribe_url": UNSUB, "name": "José 東京 🎓", "quote": 'a "b" \\c', "tab": "a\tb\nc",
          "nul": "before\x00after", "empty": ""}


def mail() -> Message:
    return outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1", body="{{ name }} {{ quote }} {{ tab }} "
                          "{{ nul }} {{ empty }}", list_id="py-3.announce.example.org")


def test_values_come_back_as_given_from_the_outbox_and_the_engine():
    msg = mail()
    assert outbox.enqueue(msg, [Recipient(f"l{i}@example.org", dict(VALUES)) for i in range(3)]) == 3
    assert [d.context for d in msg.deliveries.order_by("recipient")] == [VALUES] * 3
    assert [job.context for job in engine.claim(10)] == [VALUES] * 3


def test_values_come_back_when_written_by_the_orm():
    msg = mail()
    one = Delivery.objects.create(message=msg, recipient="a@example.org", rfc_message_id="<a@x>", context=VALUES)
    two = Delivery.objects.create(message=msg, recipient="b@example.org", rfc_message_id="<b@x>")
    assert Delivery.objects.get(pk=two.pk).context == {}
    one.context, two.context = {"n": [1, 2.5, None, True]}, {"nested": {"k": "v"}}
    Delivery.objects.bulk_update([one, two], ["context"])
    assert Delivery.objects.get(pk=one.pk).context == {"n": [1, 2.5, None, True]}
    assert Delivery.objects.get(pk=two.pk).context == {"nested": {"k": "v"}}
    Delivery.objects.filter(pk=one.pk).update(context={})
    assert Delivery.objects.get(pk=one.pk).context == {}
    assert list(Delivery.objects.filter(pk=two.pk).values_list("context", flat=True)) == [{"nested": {"k": "v"}}]


def test_a_key_lookup_says_the_context_is_text():
    with pytest.raises(FieldError, match=r"Delivery\.context is kept as JSON text: its keys \('name'\)"):
        Delivery.objects.filter(context__name="A")
    with pytest.raises(FieldError, match=r"Delivery\.context is kept as JSON text: its keys \('missing'\)"):
        Delivery.objects.filter(context__missing__deeper="A")


@pytest.mark.postgres
def test_the_column_is_text_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT data_type FROM information_schema.columns "
                       "WHERE table_name = 'mailer_delivery' AND column_name = 'context'")
        assert cursor.fetchone() == ("text",)


@pytest.mark.postgres
def test_the_migration_turns_jsonb_to_text_and_back_keeping_every_value():
    import importlib

    migration = importlib.import_module("mmooc.mailer.migrations.0012_delivery_context_kept_as_text")
    msg = mail()
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {**VALUES, "nul": "none", "empty": str(i)}) for i in range(5)])
    with connection.schema_editor(atomic=False) as editor:  # inside the test's transaction: rolled back
        migration._context_type("jsonb")(None, editor)
        with connection.cursor() as cursor:
            cursor.execute("SELECT context ->> 'empty' FROM mailer_delivery WHERE context ->> 'name' = %s",
                           [VALUES["name"]])
            assert sorted(cursor.fetchall()) == [("0",), ("1",), ("2",), ("3",), ("4",)]
        migration._context_type("text")(None, editor)
    assert sorted(d.context["empty"] for d in msg.deliveries.all()) == ["0", "1", "2", "3", "4"]
    assert all(d.context["tab"] == VALUES["tab"] for d in msg.deliveries.all())
