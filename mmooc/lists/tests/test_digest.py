from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import time_machine

from mmooc.groups.models import Membership
from mmooc.lists.digest import send_digests
from mmooc.lists.models import Digest, Post
from mmooc.mailer import engine
from mmooc.mailer.models import Message
from mmooc.testing import add_member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]

MORNING = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


@pytest.fixture
def dora(group):
    return add_member(group, "dora@example.org", name="Dora Digest", delivery=Membership.DIGEST)


def make_post(group, when: datetime, *, subject: str = "Hello", text: str = "Hi all", **fields) -> Post:
    author = group.memberships.get(learner__email="alice@example.org").learner
    return Post.objects.create(group=group, author=author, author_name="Alice Smith", subject=subject,
                               text=text, message_id=f"<{when.timestamp()}-{subject}@x>", raw=b"",
                               received_at=when, **fields)


def test_it_sends_yesterdays_posts_to_digest_members_only(group, dora):
    make_post(group, MORNING - timedelta(hours=20), subject="Week 1")
    make_post(group, MORNING - timedelta(hours=10), subject="Week 1 again")
    assert send_digests(MORNING) == 1
    message = Message.objects.get(tag="digest")
    assert message.subject == "Group 1 digest for November 2: 2 posts"
    assert list(message.deliveries.values_list("recipient", flat=True)) == ["dora@example.org"]
    assert "Week 1 again" in message.body


def test_each_member_gets_their_own_archive_and_unsubscribe_links(group, dora):
    make_post(group, MORNING - timedelta(hours=8))
    send_digests(MORNING)
    context = Message.objects.get(tag="digest").deliveries.get().context
    assert context["archive_url"].startswith("http://127.0.0.1:8000/groups/archive/")
    assert context["unsubscribe_url"].startswith("http://127.0.0.1:8000/u/")


def test_a_second_run_the_same_day_sends_nothing(group, dora):
    make_post(group, MORNING - timedelta(hours=8))
    assert send_digests(MORNING) == 1
    assert send_digests(MORNING + timedelta(hours=5)) == 0
    assert Message.objects.filter(tag="digest").count() == 1


def test_the_next_day_covers_only_new_posts(group, dora):
    make_post(group, MORNING - timedelta(hours=8), subject="Old")
    send_digests(MORNING)
    make_post(group, MORNING + timedelta(hours=2), subject="New")
    send_digests(MORNING + timedelta(days=1))
    latest = Message.objects.filter(tag="digest").order_by("-pk").first()
    assert "New" in latest.body and "Old" not in latest.body


def test_a_day_without_posts_sends_nothing_and_moves_on(group, dora):
    assert send_digests(MORNING) == 0
    assert Digest.objects.get().post_count == 0
    assert not Message.objects.exists()


def test_hidden_and_held_posts_stay_out(group, dora):
    make_post(group, MORNING - timedelta(hours=8), subject="Shown")
    make_post(group, MORNING - timedelta(hours=9), subject="Hidden one", hidden=True)
    make_post(group, MORNING - timedelta(hours=10), subject="Held one", held=True)
    send_digests(MORNING)
    body = Message.objects.get(tag="digest").body
    assert "Shown" in body and "Hidden one" not in body and "Held one" not in body


def test_a_members_words_are_never_filled_as_placeholders(group, dora):
    make_post(group, MORNING - timedelta(hours=8), text="my link: {{ unsubscribe_url }} <script>x</script>")
    send_digests(MORNING)
    engine.drain()
    copy = message_from_bytes(bytes(Message.objects.get(tag="digest").deliveries.get().stored),
                              policy=policy.default)
    text, html = copy.get_body(("plain",)).get_content(), copy.get_body(("html",)).get_content()
    assert "my link: { { unsubscribe_url } }" in text and "my link: { { unsubscribe_url } }" in html
    assert "<script>" not in html


def test_groups_without_digest_members_get_none(group):
    make_post(group, MORNING - timedelta(hours=8))
    assert send_digests(MORNING) == 0
    assert not Digest.objects.exists()


def test_the_command_queues_the_digests(group, dora):
    from io import StringIO

    from django.core.management import call_command

    make_post(group, MORNING - timedelta(hours=8))
    out = StringIO()
    with time_machine.travel(MORNING, tick=False):
        call_command("lists", "digest", stdout=out)
    assert out.getvalue().strip() == "Queued 1 digest."


def test_the_server_and_the_worker_look_for_digests_every_hour():
    from mmooc.lib import periodic

    job = next(j for j in periodic.jobs() if j.name == "lists.digest")
    assert (job.func, job.every) == (send_digests, 3600)


def test_each_member_reads_the_posts_times_on_their_own_clock(group):
    from mmooc.mailer.render import Prepared

    la = add_member(group, "lou@example.org", name="Lou", delivery=Membership.DIGEST)
    la.learner.timezone = "America/Los_Angeles"
    la.learner.save(update_fields=["timezone"])
    chatham = add_member(group, "cat@example.org", name="Cat", delivery=Membership.DIGEST)
    chatham.learner.timezone = "Pacific/Chatham"
    chatham.learner.save(update_fields=["timezone"])
    make_post(group, datetime(2026, 11, 2, 21, 17, tzinfo=UTC), subject="Evening")
    send_digests(MORNING)
    message = Message.objects.get(tag="digest")
    assert "UTC" not in message.body
    texts = {}
    for copy in message.deliveries.all():
        texts[copy.recipient] = Prepared(message).parts(copy.pk, copy.full_context(), "<x@example.org>").text
    assert "Mon 2 Nov 2026, 13:17" in texts["lou@example.org"]  # 21:17 UTC in Los Angeles (PST)
    assert "Tue 3 Nov 2026, 11:02" in texts["cat@example.org"]  # +13:45 in Chatham's summer
