"""The outbox writes its rows in COPY's text format itself (PostgreSQL): every value must
come back exactly as given, whatever characters it holds, and the rows as `enqueue` makes
them on SQLite."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.outbox import Recipient

pytestmark = pytest.mark.django_db
UNSUB = "https://course.example.org/u/abc"
AWKWARD = ["plain", "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "José 東京 🎓",
           'quote " and \\" both', "trailing\\", "\t\n\r\\"]


def course_mail(body: str = "{{ name }} {{ note }}") -> Message:
    return outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1", body=body, list_id="py-3.announce.example.org")


def test_every_value_comes_back_as_given():
    msg = course_mail()
    people = [Recipient(f"l{i}@example.org", {"unsubscribe_url": UNSUB, "name": value, "note": value[::-1]},
                        ref=value) for i, value in enumerate(AWKWARD)]
    assert outbox.enqueue(msg, people) == len(AWKWARD)
    rows = {d.recipient: d for d in msg.deliveries.all()}
    for i, value in enumerate(AWKWARD):
        d = rows[f"l{i}@example.org"]
        assert d.context == {"unsubscribe_url": UNSUB, "name": value, "note": value[::-1]}
        assert d.ref == value
        assert (d.status, d.attempts, d.provider_id, d.last_error) == (Delivery.QUEUED, 0, "", "")


def test_one_awkward_value_among_many_plain_ones():
    msg = course_mail()
    people = [Recipient(f"l{i}@example.org", {"unsubscribe_url": UNSUB, "name": f"L{i}"}, ref=f"r{i}")
              for i in range(50)]
    people[37] = Recipient("l37@example.org", {"unsubscribe_url": UNSUB, "name": "a\tb"}, ref="c\nd")
    assert outbox.enqueue(msg, people) == 50
    assert msg.deliveries.get(recipient="l37@example.org").context["name"] == "a\tb"
    assert msg.deliveries.get(recipient="l37@example.org").ref == "c\nd"
    assert msg.deliveries.get(recipient="l36@example.org").ref == "r36"


def test_send_times_keep_their_instant_in_any_zone():
    msg = course_mail()
    base = timezone.now().replace(microsecond=0) + timedelta(days=3)
    zones = ["Asia/Kolkata", "America/St_Johns", "Pacific/Apia", "UTC"]
    times = [base.astimezone(zoneinfo.ZoneInfo(z)) + timedelta(minutes=i, microseconds=i) for i, z in enumerate(zones)]
    people = [Recipient(f"l{i}@example.org", {"unsubscribe_url": UNSUB}, not_before=when)
              for i, when in enumerate(times)]
    before = timezone.now()
    outbox.enqueue(msg, people + [Recipient("now@example.org", {"unsubscribe_url": UNSUB})])
    for i, when in enumerate(times):
        assert msg.deliveries.get(recipient=f"l{i}@example.org").not_before == when
    now_row = msg.deliveries.get(recipient="now@example.org")
    assert before <= now_row.not_before == now_row.updated_at <= timezone.now()


def test_the_quick_text_is_the_text_with_every_value_escaped():
    # The quick way escapes backslashes in the whole text at once; each awkward value alone
    # and a mix of them must give what escaping value by value gives.
    when = timezone.now()
    for values in [[v] for v in AWKWARD] + [AWKWARD, ["plain", "back\\slash"]]:
        rows = [(f"l{i}@example.org", '{"name": "' + v + '"}', v, when if i % 2 else None, f"<{i}@example.org>")
                for i, v in enumerate(values)]
        assert outbox._copy_text(7, rows, "2030-01-01T00:00:00+00:00") == outbox._copy_lines(
            7, rows, "2030-01-01T00:00:00+00:00", escape=True)


def test_a_naive_time_is_still_refused():
    msg = course_mail()
    with pytest.raises(outbox.OutboxError):
        outbox.enqueue(msg, [Recipient("a@example.org", {"unsubscribe_url": UNSUB}, not_before=datetime(2030, 1, 1))])
    assert not msg.deliveries.exists()


@pytest.mark.postgres
def test_many_messages_rows_go_over_in_one_write(monkeypatch):
    import psycopg

    writes = []
    real = psycopg.Copy.write
    monkeypatch.setattr(psycopg.Copy, "write", lambda self, buffer: writes.append(1) or real(self, buffer))
    for n in (3, 30):  # a grouping's welcomes: many messages of a few copies each
        messages = outbox.compose_many([{"kind": Message.SUBSCRIBED, "subject": f"Group {i}", "body": "Hi {{ name }}",
                                         "list_id": f"g{n}-{i}.lists.example.org"} for i in range(n)])
        before = len(writes)
        assert outbox.enqueue_many([(m, [Recipient(f"l{i}@example.org", {"unsubscribe_url": UNSUB, "name": "A\tB"})
                                         for i in range(4)]) for m in messages]) == 4 * n
        assert len(writes) - before == 1
    assert [c["name"] for c in Delivery.objects.values_list("context", flat=True)].count("A\tB") == 4 * 33
