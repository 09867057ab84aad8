"""The same post delivered twice at once (two LMTP sessions of a retrying server) is relayed
once, the other delivery told it was a repeat (PostgreSQL, real concurrency)."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.lists import relay
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import add_member, make_group

RACERS = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_post_delivered_at_once_by_several_sessions_is_relayed_once():
    group = make_group(testing.make_cohort(slug="py-3"), 1)
    for name in ("alice", "bob", "carol"):
        add_member(group, f"{name}@example.org")
    raw = raw_post(to=group.address, message_id="<raced@x.org>")
    outcomes: list[relay.Outcome] = []

    def deliver() -> None:
        found = relay.find_group(group.address)  # as the LMTP server finds it at RCPT
        outcomes.extend(relay.receive(raw, "alice@example.org", [group.address], groups={group.address: found}))

    testing.race(RACERS, deliver)
    assert sorted(o.action for o in outcomes) == [relay.DUPLICATE] * (RACERS - 1) + [relay.RELAYED]
    assert {o.code for o in outcomes} == {250}
    assert Post.objects.count() == 1
    assert Message.objects.filter(tag="relay").count() == 1
    assert sorted(Delivery.objects.values_list("recipient", flat=True)) == ["bob@example.org", "carol@example.org"]
