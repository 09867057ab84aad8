"""Members who chose "web only" get no copy of the group's posts and no digest; they read the
archive, and their own posts still reach the group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from mmooc.groups.models import Membership
from mmooc.lists import relay
from mmooc.lists.digest import send_digests
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import add_member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]

MORNING = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


@pytest.fixture
def wendy(group):
    return add_member(group, "wendy@example.org", name="Wendy Web", delivery=Membership.WEB)


def _relay(group, sender, name, subject):
    [outcome] = relay.receive(raw_post(sender=sender, name=name, to=group.address, subject=subject),
                              sender, [group.address])
    assert outcome.accepted


def test_a_post_goes_to_each_post_members_and_not_to_a_web_only_one(group, wendy):
    _relay(group, "alice@example.org", "Alice Smith", "Week 1")
    copies = Delivery.objects.filter(message__tag="relay")
    assert sorted(copies.values_list("recipient", flat=True)) == ["bob@example.org", "carol@example.org"]
    assert Post.objects.filter(group=group, subject="Week 1").exists()  # in the archive she reads


def test_a_web_only_members_own_post_reaches_the_others(group, wendy):
    _relay(group, "wendy@example.org", "Wendy Web", "Hello from the web")
    copies = Delivery.objects.filter(message__tag="relay")
    assert sorted(copies.values_list("recipient", flat=True)) == [
        "alice@example.org", "bob@example.org", "carol@example.org"]


def test_digests_skip_web_only_members(group, wendy):
    author = group.memberships.get(learner__email="alice@example.org").learner
    Post.objects.create(group=group, author=author, author_name="Alice Smith", subject="Week 1", text="Hi",
                        message_id="<d-1@x>", raw=b"", received_at=MORNING - timedelta(hours=20))
    assert send_digests(MORNING) == 0  # nobody of the group takes a digest
    add_member(group, "dora@example.org", name="Dora Digest", delivery=Membership.DIGEST)
    assert send_digests(MORNING) == 1
    assert list(Message.objects.get(tag="digest").deliveries.values_list("recipient", flat=True)) == [
        "dora@example.org"]


def test_every_copy_says_how_to_switch_to_web_only(group):
    _relay(group, "alice@example.org", "Alice Smith", "Week 1")
    engine.drain()
    copy = Delivery.objects.filter(message__tag="relay").first()
    footer = list(message_from_bytes(bytes(copy.stored), policy=policy.default).iter_parts())[-1].get_content()
    assert "no group mail (web only)" in footer and "daily digest" in footer
