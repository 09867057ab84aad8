from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message, Suppression
from mmooc.mailer.outbox import OutboxError, Recipient

pytestmark = pytest.mark.django_db
UNSUB = {"unsubscribe_url": "https://course.example.org/u/abc"}


def course_mail(**kw):
    kw.setdefault("subject", "Week {{ week }}")
    kw.setdefault("list_id", "py-3.announce.example.org")
    return outbox.compose(kind=Message.SUBSCRIBED, body="Hello {{ name }}", **kw)


def test_it_enqueues_one_row_per_recipient():
    msg = course_mail()
    added = outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {**UNSUB, "week": "1"}) for i in range(5)])
    assert added == 5
    assert msg.deliveries.filter(status=Delivery.QUEUED).count() == 5


def test_it_skips_a_recipient_already_queued():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB)])
    assert outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)]) == 1
    assert msg.deliveries.count() == 2


def test_it_dedupes_addresses_case_insensitively_within_one_call():
    msg = course_mail()
    assert outbox.enqueue(msg, [Recipient("A@example.org", UNSUB), Recipient("a@example.org", UNSUB)]) == 1


def test_it_enqueues_many_rows_in_a_constant_number_of_queries(django_assert_max_num_queries):
    msg = course_mail()
    recipients = [Recipient(f"l{i}@example.org", UNSUB) for i in range(2000)]
    with django_assert_max_num_queries(6):
        assert outbox.enqueue(msg, recipients) == 2000


def test_it_gives_each_delivery_its_own_message_id_on_the_from_domain():
    msg = course_mail(from_email="Team <team@course.example.org>")
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    ids = [d.header_message_id() for d in msg.deliveries.all()]
    assert len(set(ids)) == 2
    assert all(i.startswith(f"<{msg.public_id.hex}.") and i.endswith("@course.example.org>") for i in ids)


def test_a_composed_message_s_copies_keep_no_message_id_in_their_rows():
    # Made from the ids when sent: a course email's million copies add nothing to the index
    # of Message-IDs, which holds only the ones kept (a relayed post's).
    msg = course_mail()
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", UNSUB) for i in range(3)])
    copies = list(msg.deliveries.order_by("pk"))
    assert {d.rfc_message_id for d in copies} == {""}
    assert [d.header_message_id() for d in copies] == [
        f"<{msg.public_id.hex}.{d.pk:x}@course.example.org>" for d in copies]


def test_it_keeps_not_before_and_ref():
    msg = course_mail()
    later = timezone.now() + timedelta(hours=3)
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB, not_before=later, ref="learner-1")])
    d = msg.deliveries.get()
    assert (d.not_before, d.ref) == (later, "learner-1")
    assert d.context["unsubscribe_url"] == UNSUB["unsubscribe_url"]


def test_it_refuses_subscribed_mail_without_unsubscribe_url_and_adds_nothing():
    msg = course_mail()
    with pytest.raises(OutboxError, match="unsubscribe_url"):
        outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", {})])
    assert msg.deliveries.count() == 0


def test_it_refuses_a_bad_address_and_adds_nothing():
    msg = course_mail()
    with pytest.raises(OutboxError, match="not a valid email address"):
        outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("not an address", UNSUB)])
    assert msg.deliveries.count() == 0


def test_it_converts_an_idn_domain_with_idna2008():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("hans@straße.de", UNSUB)])
    assert msg.deliveries.get().recipient == "hans@xn--strae-oqa.de"


def test_it_refuses_a_line_break_in_a_subject():
    with pytest.raises(OutboxError, match="line break"):
        course_mail(subject="Hi\r\nBcc: victim@example.org")
    assert not Message.objects.exists()


def test_it_refuses_a_line_break_in_a_context_value_used_in_the_subject():
    msg = course_mail()
    with pytest.raises(OutboxError, match="line break"):
        outbox.enqueue(msg, [Recipient("a@example.org", {**UNSUB, "week": "1\nBcc: x@example.org"})])
    assert msg.deliveries.count() == 0


def test_it_refuses_a_line_break_in_an_extra_header():
    with pytest.raises(OutboxError, match="line break"):
        course_mail(headers={"X-Course": "a\nb"})
    assert not Message.objects.exists()


def test_it_refuses_an_invalid_list_id():
    with pytest.raises(OutboxError, match="dot-atom"):
        course_mail(list_id="not a list id")
    assert not Message.objects.exists()


def test_send_queues_one_transactional_delivery():
    d = outbox.send(to="a@example.org", subject="Confirm", body="Click {{ url }}", context={"url": "https://x"},
                    ref="r1", tag="confirmation")
    assert (d.status, d.recipient, d.message.kind, d.message.tag) == (
        Delivery.QUEUED, "a@example.org", Message.TRANSACTIONAL, "confirmation")


def test_compose_raw_keeps_the_bytes_and_the_authors_message_id():
    raw = (b"From: Alice <alice@example.org>\r\nSubject: Hi group\r\nMessage-ID: <p1@example.org>\r\n"
           b"\r\nHello\r\n")
    msg = outbox.compose_raw(raw=raw, list_id="g12.lists.example.org")
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    assert bytes(msg.raw) == raw and msg.subject == "Hi group"
    assert msg.rfc_message_id == "<p1@example.org>"  # kept once, by the message
    assert set(msg.deliveries.values_list("rfc_message_id", flat=True)) == {""}


@pytest.mark.parametrize("head, expected", [
    (b"Message-ID: <p1@example.org>", "<p1@example.org>"),
    (b"message-id:<p2@example.org>  ", "<p2@example.org>"),
    (b"Message-ID:\r\n <p3@example.org>", "<p3@example.org>"),
    (b"Message-Id: <p4@example.org>\r\nX-Message-ID: <other@example.org>", "<p4@example.org>"),
    (b"X-Message-ID: <other@example.org>", ""),
    (b"Subject: no id", ""),
])
def test_a_raw_message_s_copies_keep_its_message_id(head, expected):
    raw = b"From: Alice <alice@example.org>\r\n" + head + b"\r\n\r\nMessage-ID: <in-the-body@example.org>\r\n"
    msg = outbox.compose_raw(raw=raw)
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB)])
    copy = msg.deliveries.get()
    assert copy.rfc_message_id == ""  # its message keeps it
    if expected:
        assert msg.rfc_message_id == copy.header_message_id() == expected
    else:  # none of its own (a Message-ID in the body does not count): it is made from the ids
        assert msg.rfc_message_id == ""
        assert copy.header_message_id() == msg.copy_message_id(copy.pk)


def test_compose_raw_refuses_a_message_without_from():
    with pytest.raises(outbox.OutboxError, match="no From"):
        outbox.compose_raw(raw=b"Subject: hi\r\n\r\nbody")
    with pytest.raises(outbox.OutboxError, match="no From"):
        outbox.compose_raw(raw=b"Subject: hi\r\n\r\nbody", shown=("", "hi"))
    assert not Message.objects.exists()


def test_progress_counts_every_status():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    msg.deliveries.filter(recipient="a@example.org").update(status=Delivery.SENT)
    counts = outbox.progress(msg)
    assert counts[Delivery.SENT] == 1 and counts[Delivery.QUEUED] == 1 and counts[Delivery.FAILED] == 0


def test_pause_and_resume_change_the_state():
    msg = course_mail()
    outbox.pause(msg)
    assert msg.state == Message.PAUSED
    outbox.resume(msg)
    assert msg.state == Message.ACTIVE


def test_cancel_marks_unsent_rows_cancelled_and_keeps_sent_ones():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    msg.deliveries.filter(recipient="a@example.org").update(status=Delivery.SENT)
    assert outbox.cancel(msg) == 1
    assert outbox.progress(msg)[Delivery.CANCELLED] == 1 and outbox.progress(msg)[Delivery.SENT] == 1


def test_it_refuses_to_enqueue_to_a_cancelled_message():
    msg = course_mail()
    outbox.cancel(msg)
    with pytest.raises(OutboxError, match="cancelled"):
        outbox.enqueue(msg, [Recipient("a@example.org", UNSUB)])
    msg.refresh_from_db()
    assert msg.state == Message.CANCELLED and not Delivery.objects.exists()


def test_is_suppressed_ignores_case():
    Suppression.objects.create(address="bob@example.org", reason=Suppression.MANUAL)
    assert outbox.is_suppressed(" Bob@Example.org") and not outbox.is_suppressed("ann@example.org")


def test_cancel_also_stops_rows_a_dead_engine_left_in_sending():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    msg.deliveries.update(status=Delivery.SENDING, lease_until=timezone.now() - timedelta(minutes=1))
    msg.deliveries.filter(recipient="b@example.org").update(lease_until=timezone.now() + timedelta(minutes=1))
    assert outbox.cancel(msg) == 1
    assert msg.deliveries.get(recipient="b@example.org").status == Delivery.SENDING


@pytest.mark.django_db(transaction=True)
def test_a_message_composed_in_an_earlier_transaction_still_skips_recipients_already_queued():
    from django.db import transaction

    with transaction.atomic():
        msg = course_mail()
    other = Message.objects.get(pk=msg.pk)  # as another process might, meanwhile
    outbox.enqueue(other, [Recipient("a@example.org", UNSUB)])
    with transaction.atomic():
        added = outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    assert added == 1 and msg.deliveries.count() == 2


def shared_confirmation():
    return outbox.shared(kind=Message.TRANSACTIONAL, subject="Confirm {{ course }}", body="Open {{ url }}",
                         scope="cohort:7", tag="confirmation")


def test_enqueue_one_writes_one_copy_with_the_outbox_message_id_format():
    message = shared_confirmation()
    assert outbox.enqueue_one(message, Recipient("ada@example.org", {"course": "Py", "url": "u", "x": "y"}, ref="r"))
    copy = message.deliveries.get()
    assert (copy.recipient, copy.context, copy.ref, copy.status) == ("ada@example.org", {"course": "Py", "url": "u"},
                                                                     "r", Delivery.QUEUED)
    domain = message.id_domain()
    assert copy.rfc_message_id == "" and copy.header_message_id() == f"<{message.public_id.hex}.{copy.pk:x}@{domain}>"


def test_enqueue_one_leaves_an_address_already_on_the_message_and_a_paused_message_alone():
    message = shared_confirmation()
    assert outbox.enqueue_one(message, Recipient("ada@example.org", {}))
    assert not outbox.enqueue_one(message, Recipient("ada@example.org", {}))
    outbox.pause(message)
    assert not outbox.enqueue_one(message, Recipient("bob@example.org", {}))
    assert list(message.deliveries.values_list("recipient", flat=True)) == ["ada@example.org"]


def test_shared_finds_the_same_message_until_it_stops_being_active():
    first = shared_confirmation()
    assert shared_confirmation().pk == first.pk
    assert outbox.remembered(kind=Message.TRANSACTIONAL, subject="Confirm {{ course }}", body="Open {{ url }}",
                             scope="cohort:7", tag="confirmation") == first
    outbox.cancel(first)
    assert shared_confirmation().pk != first.pk


def test_shared_starts_a_new_message_each_day_so_a_new_copy_is_listed_with_that_days_mail():
    with time_machine.travel(datetime(2026, 12, 5, 23, 50, tzinfo=UTC), tick=False):
        monday = shared_confirmation()
        outbox.enqueue_one(monday, Recipient("ada@example.org", {}))
    with time_machine.travel(datetime(2026, 12, 6, 0, 10, tzinfo=UTC), tick=False):
        assert outbox.remembered(kind=Message.TRANSACTIONAL, subject="Confirm {{ course }}", body="Open {{ url }}",
                                 scope="cohort:7", tag="confirmation") is None
        tuesday = shared_confirmation()
        assert tuesday.pk != monday.pk and shared_confirmation().pk == tuesday.pk
        outbox.enqueue_one(tuesday, Recipient("bob@example.org", {}))
    assert list(Message.objects.order_by("-created_at").values_list("pk", flat=True)) == [tuesday.pk, monday.pk]
    assert [list(m.deliveries.values_list("recipient", flat=True)) for m in (monday, tuesday)] == [
        ["ada@example.org"], ["bob@example.org"]]


def _rows(msg):
    return sorted(msg.deliveries.values_list("recipient", "status", "not_before", "updated_at"))


def test_resume_leaves_a_cancelled_message_cancelled():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB)])
    outbox.cancel(msg)
    before = _rows(msg)
    outbox.resume(msg)
    msg.refresh_from_db()
    assert msg.state == Message.CANCELLED and _rows(msg) == before


def test_resume_leaves_an_active_message_as_it_is():
    msg = course_mail()
    outbox.resume(msg)
    msg.refresh_from_db()
    assert msg.state == Message.ACTIVE


def test_pause_leaves_a_cancelled_message_cancelled():
    msg = course_mail()
    outbox.cancel(msg)
    outbox.pause(msg)
    msg.refresh_from_db()
    assert msg.state == Message.CANCELLED


def test_cancel_also_stops_copies_waiting_for_a_retry():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    msg.deliveries.filter(recipient="a@example.org").update(
        status=Delivery.DEFERRED, attempts=1, not_before=timezone.now() + timedelta(minutes=2))
    assert outbox.cancel(msg) == 2
    assert set(msg.deliveries.values_list("status", flat=True)) == {Delivery.CANCELLED}


def test_it_refuses_to_add_recipients_to_a_cancelled_message_and_changes_nothing():
    msg = course_mail()
    outbox.enqueue(msg, [Recipient("a@example.org", UNSUB)])
    outbox.cancel(msg)
    before = _rows(msg)
    with pytest.raises(OutboxError, match="cancelled"):
        outbox.enqueue(msg, [Recipient("a@example.org", UNSUB), Recipient("b@example.org", UNSUB)])
    msg.refresh_from_db()
    assert msg.state == Message.CANCELLED and _rows(msg) == before


@pytest.mark.django_db(transaction=True)
def test_a_message_counts_as_fresh_only_until_its_transaction_commits():
    from django.db import transaction

    with transaction.atomic():
        msg = course_mail()
        assert msg._outbox_fresh is True  # no one else can see it yet
    assert msg._outbox_fresh is False
    assert course_mail()._outbox_fresh is False  # written outside a transaction: visible at once


@pytest.mark.parametrize("enqueue", [
    lambda msg, recipients: outbox.enqueue(msg, recipients),
    lambda msg, recipients: outbox.enqueue_many([(msg, recipients)]),
], ids=["enqueue", "enqueue_many"])
def test_queued_mail_wakes_this_process_s_engine_once_committed(django_capture_on_commit_callbacks, enqueue):
    from mmooc.mailer import engine

    engine._woken.clear()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(course_mail(), [Recipient("a@example.org", UNSUB)])
        assert not engine._woken.is_set()  # not before the rows are visible
    assert engine._woken.is_set()
    engine._woken.clear()
