"""A thousand malformed or hostile messages: the relay never crashes and never relays a non-member."""

from __future__ import annotations

import smtplib

import pytest
from hypothesis import HealthCheck, given, settings

from mmooc import testing
from mmooc.lists import lmtp, relay
from mmooc.lists.models import Post
from mmooc.lists.tests.hostile import GROUP, generated, hand_made, mutated
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer.models import Message

# What the relay may answer a hostile message; 451 would mean our own code failed on it.
ALLOWED = {250, 501, 550, 552}
EXAMPLES = 300
HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                             HealthCheck.data_too_large])


@pytest.fixture
def hostile_group(group, outbox_mode):
    """Group 1 of py-3 (GROUP), its engine keeping copies in the outbox."""
    return group


def assert_survived(raw: bytes, sender: str) -> None:
    outcomes = relay.receive(raw, sender, [GROUP])
    assert len(outcomes) == 1 and outcomes[0].code in ALLOWED, (outcomes, raw[:300])


def assert_nothing_relayed() -> None:
    assert not Post.objects.filter(held=False).exists()  # a non-member's post may be held, never sent
    assert not Message.objects.filter(tag="relay").exists()


def test_hand_made_messages_from_a_non_member_are_never_relayed(hostile_group):
    corpus = hand_made("mallory@example.org")
    for raw in corpus:
        assert_survived(raw, "mallory@example.org")
    assert_nothing_relayed()
    assert len(corpus) >= 100


def test_hand_made_messages_from_a_member_never_crash_the_relay(hostile_group):
    for raw in hand_made("alice@example.org"):
        assert_survived(raw, "alice@example.org")


@given(raw=generated())
@HYPOTHESIS
def test_generated_messages_from_a_non_member_are_never_relayed(hostile_group, raw):
    assert_survived(raw, "mallory@example.org")
    assert_nothing_relayed()


@given(raw=mutated())
@HYPOTHESIS
def test_mutated_posts_from_a_non_member_are_never_relayed(hostile_group, raw):
    assert_survived(raw, "mallory@example.org")
    assert_nothing_relayed()


@given(raw=mutated("alice@example.org"))
@HYPOTHESIS
def test_mutated_posts_from_a_member_never_crash_the_relay(hostile_group, raw):
    assert_survived(raw, "alice@example.org")


@pytest.mark.django_db(transaction=True)
def test_a_sample_over_real_lmtp_never_stops_the_server(hostile_group):
    group = hostile_group
    server = lmtp.start("127.0.0.1", testing.free_port())
    try:
        with smtplib.LMTP(server.host, server.port, timeout=60) as conn:
            for raw in hand_made("mallory@example.org")[::2]:
                try:
                    conn.sendmail("mallory@example.org", [group.address], raw)
                except smtplib.SMTPDataError as exc:
                    assert exc.smtp_code in ALLOWED, exc
                conn.rset()
            assert_nothing_relayed()
            assert conn.sendmail("alice@example.org", [group.address], raw_post(to=group.address)) == {}
        assert Post.objects.filter(held=False).count() == 1
    finally:
        server.stop()
