"""Held posts that came in by LMTP, approved on the queue page: the copies reach a real SMTP server."""

from __future__ import annotations

import smtplib

import pytest

from mmooc import testing
from mmooc.lists import relay
from mmooc.lists.models import Moderation, Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Message
from mmooc.testing import add_member, facilitate, make_group

pytestmark = pytest.mark.django_db(transaction=True)


def facilitating_every_group(user):
    """The facilitator of every study group there is: the queue shows a facilitator their groups only."""
    from mmooc.groups.models import StudyGroup

    return facilitate(user, *StudyGroup.objects.all())


@pytest.fixture
def group(cohort):
    group = make_group(cohort, 1)
    for address in ("alice@example.org", "bob@example.org", "carol@example.org"):
        add_member(group, address, name=address.split("@")[0].title() + " Smith")
    return group


def approve(client, cohort, post_ids):
    return client.post(f"/dashboard/cohorts/{cohort.slug}/moderation/decide/",
                       {"post": post_ids, "action": "approve"})


def test_a_new_members_first_post_held_by_lmtp_reaches_the_members_once_approved(cohort, group, lmtp_conn,
                                                                                 smtp_sink, client, facilitator):
    Moderation.objects.create(cohort=cohort, hold_first_post=True)
    raw = raw_post(to=group.address, subject="Hello, I am new", message_id="<new@mail.example.org>")
    assert lmtp_conn.sendmail("alice@example.org", [group.address], raw) == {}
    post = Post.objects.get()
    assert (post.held, post.held_reason) == (True, relay.FIRST_POST)
    assert engine.drain() == 0 and smtp_sink.received == []
    client.force_login(facilitating_every_group(facilitator))
    assert approve(client, cohort, [post.pk]).status_code == 302
    assert approve(client, cohort, [post.pk]).status_code == 302  # the double click
    assert engine.drain() == 2
    got = {r.rcpt_tos[0]: r.message for r in smtp_sink.received}
    assert sorted(got) == ["bob@example.org", "carol@example.org"]
    assert str(got["bob@example.org"]["Subject"]) == "[Group 1] Hello, I am new"
    assert str(got["bob@example.org"]["Message-ID"]) == "<new@mail.example.org>"
    assert Message.objects.filter(tag="relay").count() == 1
    # Her next post is no longer held.
    assert lmtp_conn.sendmail("alice@example.org", [group.address], raw_post(to=group.address)) == {}
    assert engine.drain() == 2


def test_a_post_from_an_unknown_address_held_by_lmtp_reaches_the_members_once_approved(cohort, group, lmtp_conn,
                                                                                      smtp_sink, client,
                                                                                      facilitator):
    raw = raw_post(sender="alice.home@example.net", to=group.address, message_id="<home@mail.example.net>")
    assert lmtp_conn.sendmail("alice.home@example.net", [group.address], raw) == {}
    engine.drain()
    smtp_sink.received.clear()  # the "this is also me" notice
    post = Post.objects.get()
    client.force_login(facilitating_every_group(facilitator))
    approve(client, cohort, [post.pk])
    assert engine.drain() == 3
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.received) == [
        "alice@example.org", "bob@example.org", "carol@example.org"]


@pytest.mark.postgres
def test_two_approvals_at_once_relay_once(cohort, group, facilitator):
    from mmooc.lists import moderation

    [outcome] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address],
                              held_reason="Mailgun judged it spam")
    done: list[bool] = []

    def work() -> None:
        post = Post.objects.select_related("group", "author").get(pk=outcome.post_id)
        done.append(moderation.approve(post, facilitator))

    testing.race(4, work)
    assert sorted(done) == [False, False, False, True]
    assert Message.objects.filter(tag="relay").count() == 1
    assert Message.objects.get(tag="relay").deliveries.count() == 2


def test_a_too_big_post_held_by_lmtp_reaches_the_members_as_it_is_once_approved(cohort, group, lmtp_conn,
                                                                               smtp_sink, client, facilitator,
                                                                               monkeypatch):
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 8000)
    raw = raw_post(to=group.address, subject="Board photos", body=("p" * 70 + "\n") * 80,
                   message_id="<big@mail.example.org>")
    assert lmtp_conn.sendmail("alice@example.org", [group.address], raw) == {}
    post = Post.objects.get()
    assert (post.held, post.held_reason) == (True, relay.TOO_BIG)
    assert engine.drain() == 1  # only the notice to Alice that it waits
    assert [r.rcpt_tos[0] for r in smtp_sink.received] == ["alice@example.org"]
    smtp_sink.received.clear()
    client.force_login(facilitating_every_group(facilitator))
    assert approve(client, cohort, [post.pk]).status_code == 302
    assert engine.drain() == 2
    got = {r.rcpt_tos[0]: r.message for r in smtp_sink.received}
    assert sorted(got) == ["bob@example.org", "carol@example.org"]
    assert str(got["bob@example.org"]["Message-ID"]) == "<big@mail.example.org>"
    assert ("p" * 70 + "\r\n") * 80 in got["bob@example.org"].get_body(preferencelist=("plain",)).get_content()


def test_a_muted_members_post_held_by_lmtp_reaches_the_members_once_approved(cohort, group, lmtp_conn, smtp_sink,
                                                                            client, facilitator):
    from mmooc.groups.models import Membership

    Membership.objects.filter(learner__email="alice@example.org").update(muted=True)
    raw = raw_post(to=group.address, subject="Back again", message_id="<muted@mail.example.org>")
    assert lmtp_conn.sendmail("alice@example.org", [group.address], raw) == {}
    post = Post.objects.get()
    assert (post.held, post.held_reason) == (True, relay.MUTED_MEMBER)
    engine.drain()
    smtp_sink.received.clear()  # the notice that it waits
    client.force_login(facilitating_every_group(facilitator))
    approve(client, cohort, [post.pk])
    assert engine.drain() == 2
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.received) == ["bob@example.org", "carol@example.org"]
    assert Membership.objects.get(learner__email="alice@example.org").muted


def test_over_lmtp_a_post_at_the_ceiling_is_held_and_one_byte_more_refused(cohort, group, lmtp_conn, monkeypatch):
    raw = raw_post(to=group.address, body="q" * 5000, message_id="<edge@mail.example.org>")
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", len(raw))
    over = raw_post(to=group.address, body="q" * 5001, message_id="<edge2@mail.example.org>")
    replies = []
    for message in (raw, over):  # no SIZE at MAIL FROM: the DATA reply decides
        assert lmtp_conn.mail("alice@example.org")[0] == 250
        assert lmtp_conn.rcpt(group.address)[0] == 250
        lmtp_conn.putcmd("data")
        assert lmtp_conn.getreply()[0] == 354
        lmtp_conn.send(smtplib.quotedata(message.decode()).encode() + b".\r\n")  # the message ends in CRLF
        replies.append(lmtp_conn.getreply()[0])
    assert replies == [250, 552]
    assert [(p.message_id, p.size, p.held_reason) for p in Post.objects.all()] == [
        ("<edge@mail.example.org>", len(raw), relay.TOO_BIG)]
