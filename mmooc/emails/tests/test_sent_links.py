"""A course email's links (the learner's page, unsubscribe) are signed when each copy is sent,
from the learner's public id its row has as its ref (mmooc.mailer.refvalues): a week-9 email
scheduled before the start carries links as old as the email, not nine weeks old."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import path_of
from mmooc.mailer import engine, outbox, refvalues
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.tests.test_providers import fake, sent  # noqa: F401  (fake: the providers' fixture)
from mmooc.testing import make_learner
from mmooc.testing.fake_provider import PROVIDERS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]
WEEK_9 = datetime(2027, 5, 3, 9, 30, tzinfo=UTC)  # day 56 of a run starting 8 March, 09:00 London (+1)
BODY = "Hi {{ learner.first_name }}, week 9. Your page: {{ learner.page_url }}\n"
PAGE_LINK = re.compile(r"https?://[^\s/]+/me/[^\s>)\]]+")


def _week_9(cohort, organizer) -> CourseEmail:
    email = CourseEmail.objects.create(cohort=cohort, subject="Week 9", body=BODY, schedule=CourseEmail.LOCAL,
                                       day_offset=56, local_time=time(9))
    scheduling.schedule(email, organizer)
    return email


def _sent(smtp_sink, address: str):
    (found,) = [r.message for r in smtp_sink.received if r.rcpt_tos == [address]]
    return found


def _page_link(mail) -> str:
    text = mail.get_body(("plain",)).get_content()
    (url,) = {u.rstrip(".") for u in PAGE_LINK.findall(text)}
    return url


def _unsubscribe_link(mail) -> str:
    return re.match(r"<(https?://[^>]+)>", mail["List-Unsubscribe"]).group(1)


@pytest.mark.parametrize("zone", ["Europe/London", "America/Los_Angeles", "Asia/Kolkata"])
def test_a_week_9_email_scheduled_before_the_start_carries_links_signed_when_it_is_sent(
        client, cohort, organizer, smtp_sink, zone):
    ann = make_learner(cohort, "ann@example.org", name="Ann Lee", timezone=zone)
    _week_9(cohort, organizer)
    # The row keeps no link: nothing is signed nine weeks before the email leaves.
    copy = Delivery.objects.get(ref=str(ann.public_id))
    assert set(copy.context) == {"learner.first_name"}
    with time_machine.travel(copy.not_before + timedelta(minutes=30), tick=False):  # 09:30 in the learner's zone
        assert engine.drain() == 1
        mail = _sent(smtp_sink, "ann@example.org")
        page = _page_link(mail)
        token = path_of(page).rsplit("/", 1)[1]
        assert links.token_age(token) < timedelta(minutes=1)
        # Leaving the cohort from the email's own link acts at once: no "fresh link" round trip.
        leave = path_of(page) + "/leave"
        assert "more than 30 days old" not in client.get(leave).content.decode()
        assert client.post(leave).status_code == 200
    ann.refresh_from_db()
    assert ann.state == Learner.LEFT


def test_each_copys_links_are_its_own_learners(client, cohort, organizer, smtp_sink):
    ann = make_learner(cohort, "ann@example.org", name="Ann Lee", timezone="Europe/London")
    bob = make_learner(cohort, "bob@example.org", name="Bob Ray", timezone="Europe/London")
    _week_9(cohort, organizer)
    with time_machine.travel(WEEK_9, tick=False):
        assert engine.drain() == 2
        to_ann, to_bob = _sent(smtp_sink, "ann@example.org"), _sent(smtp_sink, "bob@example.org")
        assert _page_link(to_ann) != _page_link(to_bob)
        assert links.learner_from_token(path_of(_page_link(to_bob)).rsplit("/", 1)[1], links.PAGE) == bob
        # One-click unsubscribe (RFC 8058) from Ann's header unsubscribes Ann alone.
        assert client.post(_unsubscribe_link(to_ann), {"List-Unsubscribe": "One-Click"}).status_code == 200
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert ann.unsubscribed_at is not None and bob.unsubscribed_at is None


def test_the_outbox_viewer_shows_a_queued_copy_with_its_links(client, cohort, organizer):
    ann = make_learner(cohort, "ann@example.org", name="Ann Lee")
    email = _week_9(cohort, organizer)
    copy = Delivery.objects.get(ref=str(ann.public_id))
    client.force_login(organizer)
    response = client.post(reverse("mailer:outbox_reveal", args=[email.message.public_id, copy.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert links.learner_page_url(ann).rsplit(".", 2)[0] in page  # the token up to its time and signature
    assert links.unsubscribe_url(ann).rsplit(".", 2)[0] in page


@pytest.mark.parametrize("ref", ["", "not-a-learner", "../../etc", "x" * 5000, "0" * 32,
                                 "00000000-0000-0000-0000-00000000000G", "00000000-0000-0000-0000-000000000000\n"])
def test_a_copy_whose_ref_cannot_make_its_links_is_refused_and_nothing_is_written(cohort, organizer, ref):
    ann = make_learner(cohort, "ann@example.org")
    email = _week_9(cohort, organizer)
    good = outbox.Recipient("new@example.org", {"learner.first_name": "New"}, ref=str(ann.public_id))
    bad = outbox.Recipient("bad@example.org", {"learner.first_name": "Bad"}, ref=ref)
    with pytest.raises(outbox.OutboxError, match="needs a ref its values"):
        outbox.enqueue(email.message, [good, bad])
    assert not email.message.deliveries.filter(recipient__in=["new@example.org", "bad@example.org"]).exists()


def test_a_message_naming_values_no_app_registered_is_refused():
    with pytest.raises(outbox.OutboxError, match="no values are registered as 'nothing-such'"):
        outbox.compose(kind=Message.SUBSCRIBED, subject="Hi", body="Hi", ref_values="nothing-such")
    assert not Message.objects.exists()


def test_a_row_whose_ref_cannot_make_its_links_fails_alone_with_the_reason(cohort, organizer, smtp_sink):
    ann = make_learner(cohort, "ann@example.org", timezone="Europe/London")
    bob = make_learner(cohort, "bob@example.org", timezone="Europe/London")
    _week_9(cohort, organizer)
    Delivery.objects.filter(ref=str(bob.public_id)).update(ref="changed-by-hand")  # past the outbox's checks
    with time_machine.travel(WEEK_9, tick=False):
        engine.drain()
    assert Delivery.objects.get(ref=str(ann.public_id)).status == Delivery.SENT
    failed = Delivery.objects.get(ref="changed-by-hand")
    assert failed.status == Delivery.FAILED
    assert "cannot be made from the ref 'changed-by-hand'" in failed.last_error
    assert [r.rcpt_tos for r in smtp_sink.received] == [["ann@example.org"]]


def test_copies_of_a_message_whose_values_are_not_registered_wait_and_are_not_lost(
        cohort, organizer, smtp_sink, monkeypatch):
    ann = make_learner(cohort, "ann@example.org", timezone="Europe/London")
    _week_9(cohort, organizer)
    kinds = dict(refvalues._KINDS)
    monkeypatch.setattr(refvalues, "_KINDS", {})  # a worker started without the learners app
    with time_machine.travel(WEEK_9, tick=False):
        engine.drain()
        copy = Delivery.objects.get(ref=str(ann.public_id))
        assert copy.status == Delivery.DEFERRED and "learner-links" in copy.last_error
        assert not smtp_sink.received
        monkeypatch.setattr(refvalues, "_KINDS", kinds)
    with time_machine.travel(WEEK_9 + timedelta(hours=2), tick=False):
        engine.drain()
    assert Delivery.objects.get(ref=str(ann.public_id)).status == Delivery.SENT
    assert [r.rcpt_tos for r in smtp_sink.received] == [["ann@example.org"]]


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Kolkata"])
def test_a_learner_who_joins_late_gets_a_welcome_whose_links_are_signed_when_it_is_sent(
        cohort, smtp_sink, zone):
    with time_machine.travel(datetime(2027, 3, 18, 12, tzinfo=UTC), tick=False):  # week 2 of the run
        late = make_learner(cohort, "late@example.org", name="Lena Late", timezone=zone)
        assert scheduling.send_welcome(late) == 1
        welcome = Delivery.objects.get(ref=str(late.public_id), message__tag=scheduling.WELCOME_TAG)
        assert "unsubscribe_url" not in welcome.context and "learner.page_url" not in welcome.context
    with time_machine.travel(datetime(2027, 3, 18, 12, 5, tzinfo=UTC), tick=False):
        assert engine.drain() == 1
        mail = _sent(smtp_sink, "late@example.org")
        assert _unsubscribe_link(mail).startswith(links.unsubscribe_url(late).rsplit(".", 2)[0])
        token = _unsubscribe_link(mail).rsplit("/", 1)[1]
        assert links.token_age(token) < timedelta(minutes=1)


# ---------------------------------------------------------------- every transport


def _course_email_sent_now(cohort) -> dict[str, str]:
    """A course email scheduled to go now to two learners; their addresses → hex public ids."""
    learners = [make_learner(cohort, f"{who}@example.org") for who in ("ann", "bob")]
    email = CourseEmail.objects.create(cohort=cohort, subject="This week", schedule=CourseEmail.NOW,
                                       body="Hi {{ learner.first_name }}, your page: {{ learner.page_url }}\n")
    assert scheduling.schedule(email, None, hold=False) == 2
    assert all("unsubscribe_url" not in d.context for d in Delivery.objects.all())  # made when sent
    return {learner.email: learner.public_id.hex for learner in learners}


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_course_emails_links_made_when_sent_go_through_every_provider(fake, cohort, name):  # noqa: F811
    server = fake(name)
    learners = _course_email_sent_now(cohort)
    assert engine.drain() == 2
    got = sent(server)
    assert sorted(got) == sorted(learners)
    if name == "mailersend":  # custom headers are an Enterprise feature: only the recipients are checked
        return
    for address, public_hex in learners.items():
        # Each copy's own one-click link, signed for its learner as the engine sent it.
        assert got[address].header("List-Unsubscribe").startswith(f"<http://127.0.0.1:8000/u/c{public_hex}.")


def test_a_course_emails_links_made_when_sent_go_through_smtp(cohort, smtp_sink):
    learners = _course_email_sent_now(cohort)
    assert engine.drain() == 2
    for received in smtp_sink.received:
        public_hex = learners[received.rcpt_tos[0]]
        mail = received.message
        assert mail["List-Unsubscribe"].startswith(f"<http://127.0.0.1:8000/u/c{public_hex}.")
        assert f"http://127.0.0.1:8000/me/{public_hex}." in mail.get_body(("plain",)).get_content()
