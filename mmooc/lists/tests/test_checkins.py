"""Check-ins over a real LMTP connection, as Postfix delivers them: to a group, to the check-in address.

py-3 started on Monday 2026-11-02 and runs seven weeks; the tests run at noon on day 17 (week 3)."""

from __future__ import annotations

import smtplib
from datetime import date

import pytest

from mmooc import testing
from mmooc.checkins.intake import checkin_address
from mmooc.checkins.models import CheckIn
from mmooc.checkins.signals import checkin_recorded
from mmooc.learners.models import Learner
from mmooc.lists.models import Post, Refusal
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer.models import Delivery
from mmooc.testing import add_member

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cohort(start=date(2026, 11, 2))]


@pytest.fixture(autouse=True)
def week3(time_machine):
    time_machine.move_to("2026-11-18T12:00:00+00:00", tick=False)


@pytest.fixture
def client(lmtp_conn):
    return lmtp_conn


def deliver(conn, raw: bytes, to: str, sender: str = "alice@example.org") -> None:
    assert conn.sendmail(sender, [to], raw) == {}


def acks(address: str = "alice@example.org") -> list[Delivery]:
    return list(Delivery.objects.filter(recipient=address, message__tag="checkin-ack").select_related("message"))


def relayed() -> int:
    return Post.objects.count()


@pytest.mark.parametrize(("body", "status", "week", "topic"), [
    ("DONE 2", "done", 2, ""),
    ("STUCK 3 recursion", "stuck", 3, "recursion"),
    ("Skip: week 4!", "skip", 4, ""),
    ("done", "done", 3, ""),  # the current week
])
def test_a_check_in_to_the_group_is_recorded_acknowledged_and_not_relayed(client, group, body, status, week, topic):
    deliver(client, raw_post(to=group.address, body=body), group.address)
    [checkin] = CheckIn.objects.all()
    assert (checkin.learner.email, checkin.week, checkin.status, checkin.topic, checkin.group) == (
        "alice@example.org", week, status, topic, group)
    assert checkin.source == CheckIn.GROUP
    assert relayed() == 0
    [ack] = acks()
    assert ack.message.headers["Auto-Submitted"] == "auto-replied"
    assert f"week {week}" in ack.message.body


def test_a_check_in_line_above_a_quote_is_read(client, group):
    body = "DONE 3\n\nOn Mon, 2 Nov 2026, Course wrote:\n> STUCK 2 loops\n> Week 3 is about recursion."
    deliver(client, raw_post(to=group.address, body=body), group.address)
    assert list(CheckIn.objects.values_list("week", "status")) == [(3, "done")]


def test_a_quoted_check_in_below_a_normal_reply_is_not_one(client, group):
    body = "Thanks Bob, that helped!\n\n> DONE 3\n"
    deliver(client, raw_post(to=group.address, body=body, subject="Re: done"), group.address)
    assert not CheckIn.objects.exists()
    assert relayed() == 1


def test_done_inside_an_ordinary_post_is_relayed_as_a_post(client, group):
    body = "Hi all,\nDONE 3 here, and I wrote up my notes. Anyone up for a call on Friday?"
    deliver(client, raw_post(to=group.address, body=body), group.address)
    assert not CheckIn.objects.exists()
    assert relayed() == 1
    assert Delivery.objects.filter(message__tag="relay").count() == 2


def test_a_post_starting_with_done_and_more_words_is_a_post(client, group):
    deliver(client, raw_post(to=group.address, body="Done with the homework, who wants to compare?"),
            group.address)
    assert not CheckIn.objects.exists() and relayed() == 1


@pytest.mark.parametrize("header", [{"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"},
                                    {"Precedence": "junk"}, {"X-Autoreply": "yes"}])
def test_an_automatic_reply_is_neither_recorded_nor_acknowledged(client, group, header):
    deliver(client, raw_post(to=group.address, body="DONE 3", headers=header), group.address)
    assert not CheckIn.objects.exists() and not acks() and relayed() == 0


def test_another_lists_mail_is_never_a_check_in(client, group):
    deliver(client, raw_post(to=group.address, body="DONE 3", headers={"List-Id": "<other.lists.example.net>"}),
            group.address)
    assert not CheckIn.objects.exists() and not acks()


def test_mail_from_mailer_daemon_is_ignored(client, group):
    raw = raw_post(to=group.address, sender="mailer-daemon@example.org", body="DONE 3", name="")
    deliver(client, raw, group.address, sender="")
    assert not CheckIn.objects.exists() and not Delivery.objects.filter(message__tag="checkin-ack").exists()


def test_the_same_check_in_again_is_acknowledged_once(client, group):
    deliver(client, raw_post(to=group.address, body="DONE 3"), group.address)
    deliver(client, raw_post(to=group.address, body="done 3!"), group.address)
    same = raw_post(to=group.address, body="DONE 3", message_id="<again@mail.example.org>")
    deliver(client, same, group.address)
    deliver(client, same, group.address)  # a retry of one message
    assert CheckIn.objects.count() == 1
    assert len(acks()) == 1


def test_a_new_word_on_the_week_is_recorded_and_acknowledged_and_becomes_the_current_one(client, group):
    deliver(client, raw_post(to=group.address, body="STUCK 3 recursion"), group.address)
    deliver(client, raw_post(to=group.address, body="DONE 3"), group.address)
    assert len(acks()) == 2
    latest = CheckIn.objects.latest_per_week()
    assert [c.status for c in latest.values()] == ["done"]


def test_a_spanish_learner_checks_in_in_spanish_and_is_answered_in_spanish(client, group, cohort):
    Learner.objects.filter(email="alice@example.org").update(language="es")
    deliver(client, raw_post(to=group.address, body="HECHO 2"), group.address)
    [ack] = acks()
    assert ack.message.subject == "Avance recibido: semana 2"
    assert ack.message.body.startswith("Gracias, Alice: la semana 2 quedó marcada como hecha. ¡Bien hecho!")
    assert "Esta es una respuesta automática" in ack.message.body
    assert ack.message.headers["Content-Language"] == "es"
    to = checkin_address(cohort)
    deliver(client, raw_post(to=to, body="¡Gracias por el curso!"), to)
    [note] = Delivery.objects.filter(message__tag="checkin-not-a-checkin").select_related("message")
    assert note.message.subject == "Tu avance no quedó registrado"
    assert "Esta dirección solo registra avances" in note.message.body


def test_an_english_learner_is_answered_in_english_whatever_the_others_speak(client, group):
    Learner.objects.exclude(email="alice@example.org").update(language="es")
    deliver(client, raw_post(to=group.address, body="DONE 2"), group.address)
    [ack] = acks()
    assert ack.message.subject == "Check-in received: week 2"
    assert "Content-Language" not in ack.message.headers


def test_the_signal_is_sent_after_commit(client, group):
    seen = []

    def receiver(sender, checkin, **kwargs):
        seen.append((checkin.week, checkin.status, CheckIn.objects.filter(pk=checkin.pk).exists()))

    checkin_recorded.connect(receiver)
    try:
        deliver(client, raw_post(to=group.address, body="DONE 2"), group.address)
        deliver(client, raw_post(to=group.address, body="DONE 2"), group.address)  # a repeat: no signal
    finally:
        checkin_recorded.disconnect(receiver)
    assert seen == [(2, "done", True)]


@pytest.mark.parametrize("body", ["DONE 8", "DONE 0", "SKIP 99"])
def test_a_week_out_of_range_gets_a_friendly_reply_and_no_record(client, group, body):
    deliver(client, raw_post(to=group.address, body=body), group.address)
    assert not CheckIn.objects.exists() and relayed() == 0
    [note] = Delivery.objects.filter(message__tag="checkin-week").select_related("message")
    assert "weeks 1 to 7" in note.message.body


def test_friendly_replies_are_limited_per_day(client, group):
    for n in range(6):
        deliver(client, raw_post(to=group.address, body=f"DONE {20 + n}"), group.address)
    assert Delivery.objects.filter(message__tag="checkin-week").count() == 3


def test_a_non_member_check_in_is_dropped_as_any_non_member_post(client, group):
    deliver(client, raw_post(to=group.address, sender="stranger@example.net", body="DONE 3"), group.address,
            sender="stranger@example.net")
    assert not CheckIn.objects.exists()
    assert Refusal.objects.get().reason == Refusal.NON_MEMBER


def test_a_muted_member_cannot_check_in_through_the_group(client, group):
    group.memberships.filter(learner__email="alice@example.org").update(muted=True)
    deliver(client, raw_post(to=group.address, body="DONE 3"), group.address)
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("body", ["DONE 3" + " " * 5000 + "x", "\x00DONE 3", "DONE 3\udcff",
                                  "STUCK 3 " + "<script>{{ learner.name }}</script>" * 3,
                                  "DONE 99999999999999999999"])
def test_hostile_lines_record_nothing_odd(client, group, body):
    raw = raw_post(to=group.address, body=body.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    deliver(client, raw, group.address)
    for checkin in CheckIn.objects.all():
        assert len(checkin.topic) <= 100 and 1 <= checkin.week <= 7


def test_a_stuck_topic_cannot_inject_markup_into_the_acknowledgement(client, group):
    deliver(client, raw_post(to=group.address, body="STUCK 3 [click](http://evil.example) {{ x }}"),
            group.address)
    [ack] = acks()
    assert "](" not in ack.message.body and "{{" not in ack.message.body


def test_an_oversized_message_is_refused_before_reading(client, group, settings, monkeypatch):
    from mmooc.lists import relay

    monkeypatch.setattr(relay, "MAX_POST_BYTES", 1000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 2000)
    raw = raw_post(to=group.address, body="DONE 3\n" + "x" * 3000)
    with pytest.raises(smtplib.SMTPException):
        deliver(client, raw, group.address)
    assert not CheckIn.objects.exists()


def test_a_message_over_the_limit_is_held_for_staff_not_recorded(client, group, monkeypatch):
    from mmooc.lists import relay

    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    deliver(client, raw_post(to=group.address, body="DONE 3\n" + "x" * 3000), group.address)
    assert not CheckIn.objects.exists()
    assert Post.objects.get().held_reason == relay.TOO_BIG


# The check-in address: the Reply-To of the course emails.

def test_a_reply_to_the_course_email_is_recorded(client, group, cohort):
    to = checkin_address(cohort)
    assert to == "checkin+py-3@lists.course.example.org"
    body = "STUCK 3 recursion\n\nOn Mon, Course <course@course.example.org> wrote:\n> Week 3: recursion\n"
    deliver(client, raw_post(to=to, subject="Re: Week 3", body=body), to)
    [checkin] = CheckIn.objects.all()
    assert (checkin.source, checkin.group, checkin.status, checkin.topic) == (CheckIn.REPLY, group, "stuck",
                                                                              "recursion")
    assert len(acks()) == 1 and relayed() == 0


def test_a_learner_without_a_group_checks_in_by_reply(client, cohort):
    testing.make_learner(cohort, "solo@example.org", name="Sol")
    to = checkin_address(cohort)
    deliver(client, raw_post(to=to, sender="SOLO@example.org", body="done"), to, sender="SOLO@example.org")
    [checkin] = CheckIn.objects.all()
    assert (checkin.week, checkin.group) == (3, None)


def test_a_reply_that_is_not_a_check_in_gets_a_pointer_to_the_team_once_a_day_at_most(client, group, cohort):
    to = checkin_address(cohort)
    for _ in range(5):
        deliver(client, raw_post(to=to, body="Thank you for the course!"), to)
    assert not CheckIn.objects.exists()
    notes = Delivery.objects.filter(message__tag="checkin-not-a-checkin").select_related("message")
    assert 1 <= notes.count() <= 3
    assert "only records check-ins" in notes[0].message.body


def test_an_auto_reply_to_the_course_email_gets_nothing(client, group, cohort):
    to = checkin_address(cohort)
    deliver(client, raw_post(to=to, body="I am out of office", subject="Out of office",
                             headers={"Auto-Submitted": "auto-replied"}), to)
    assert not Delivery.objects.exists() and not CheckIn.objects.exists()


def test_a_stranger_writing_to_the_check_in_address_gets_nothing(client, group, cohort):
    to = checkin_address(cohort)
    deliver(client, raw_post(to=to, sender="stranger@example.net", body="DONE 3"), to,
            sender="stranger@example.net")
    assert not Delivery.objects.exists() and not CheckIn.objects.exists()


def test_a_learner_who_left_cannot_check_in(client, group, cohort):
    Learner.objects.filter(email="alice@example.org").update(state=Learner.LEFT)
    to = checkin_address(cohort)
    deliver(client, raw_post(to=to, body="DONE 3"), to)
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("address", ["checkin+nope@lists.course.example.org", "checkin+@lists.course.example.org",
                                     "checkin+py-3@other.example.org",
                                     "checkin+" + "x" * 300 + "@lists.course.example.org"])
def test_an_unknown_check_in_address_is_refused_at_rcpt(client, group, address):
    client.mail("alice@example.org")
    assert client.rcpt(address)[0] == 550


def test_a_learner_of_another_cohort_is_not_recorded_by_this_cohorts_address(client, group, cohort):
    other = testing.make_cohort(slug="py-4")
    add_member(testing.make_group(other, 1), "dora@example.org")
    to = checkin_address(cohort)
    deliver(client, raw_post(to=to, sender="dora@example.org", body="DONE 3"), to, sender="dora@example.org")
    assert not CheckIn.objects.exists()


@pytest.mark.postgres
def test_check_ins_on_postgresql(client, group, cohort):
    deliver(client, raw_post(to=group.address, body="DONE 3"), group.address)
    to = checkin_address(cohort)
    deliver(client, raw_post(to=to, body="STUCK 3 loops"), to)
    assert sorted(CheckIn.objects.values_list("status", flat=True)) == ["done", "stuck"]
    assert len(acks()) == 2


def test_postfix_is_told_the_check_in_address_exists(group, cohort):
    from mmooc.lists import socketmap

    assert socketmap.reply_for(f"recipient {checkin_address(cohort)}".encode()) == "OK checkin"
    assert socketmap.reply_for(b"recipient checkin+nope@lists.course.example.org") == "NOTFOUND "


@pytest.mark.usefixtures("anymail_settings")
def test_check_ins_by_a_providers_inbound_webhook_too(group, cohort):
    from django.test import Client

    from mmooc.lists.tests.test_receivers import mailgun_payload, post_mailgun

    web = Client()
    for to, body in ((group.address, "DONE 2"), (checkin_address(cohort), "STUCK 3 recursion"),
                     (group.address, "Done with week 2, who wants to compare notes?")):
        assert post_mailgun(web, mailgun_payload(raw_post(to=to, body=body), recipient=to,
                                                 sender="alice@example.org")).status_code == 200
    assert sorted(CheckIn.objects.values_list("week", "status")) == [(2, "done"), (3, "stuck")]
    assert len(acks()) == 2 and relayed() == 1


def test_a_reply_without_a_message_id_or_unreadable_is_refused_and_records_nothing(client, group, cohort):
    to = checkin_address(cohort)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        deliver(client, raw_post(to=to, body="DONE 3", message_id=""), to)
    assert refused.value.smtp_code == 550
    client.rset()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        deliver(client, raw_post(to=to, body="DONE 3", headers={"From": "Alice <<<@@>"}), to)
    assert refused.value.smtp_code == 501
    assert not CheckIn.objects.exists() and not Delivery.objects.exists()


def test_an_oversized_reply_is_refused(client, group, cohort, monkeypatch):
    from mmooc.lists import relay

    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    to = checkin_address(cohort)
    with pytest.raises(smtplib.SMTPException):
        deliver(client, raw_post(to=to, body="DONE 3\n" + "x" * 3000), to)
    assert not CheckIn.objects.exists()
