"""Held posts that came in by LMTP, approved on the queue page: the copies reach a real SMTP server."""

from __future__ import annotations

import smtplib

import pytest

from mmooc import testing
from mmooc.lists import lmtp, relay
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
def lmtp_conn():
    running = lmtp.start("127.0.0.1", testing.free_port())
    conn = smtplib.LMTP(running.host, running.port, timeout=30)
    conn.ehlo_or_helo_if_needed()
    yield conn
    conn.close()
    running.stop()


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
