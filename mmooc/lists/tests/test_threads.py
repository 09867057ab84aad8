"""Threads of the archive: set once when a post is stored, by its References and In-Reply-To,
else by a "Re:" subject; the backfill threads stored posts the same way."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps as global_apps

from mmooc.lists import relay
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.lists.threads import is_reply, reply_subject, subject_key
from mmooc.testing import make_group

pytestmark = pytest.mark.django_db


def post_to(group, sender="alice@example.org", **kwargs) -> Post:
    [outcome] = relay.receive(raw_post(sender=sender, to=group.address, **kwargs), sender, [group.address])
    return Post.objects.get(pk=outcome.post_id)


@pytest.mark.parametrize(("subject", "key", "reply"), [
    ("Week 1", "week 1", False),
    ("Re: Week 1", "week 1", True),
    ("RE:  week   1 ", "week 1", True),
    ("Re: [Group 1] Re: AW: Week 1", "week 1", True),
    ("[Group 1] Re: Week 1", "week 1", True),
    ("Fwd: Week 1", "fwd: week 1", False),
    ("", "", False),
    ("Re:", "", True),
])
def test_subjects_compare_without_tags_reply_prefixes_case_or_spacing(subject, key, reply):
    assert (subject_key(subject), is_reply(subject)) == (key, reply)


def test_a_reply_subject_says_re_once_without_the_tag():
    assert reply_subject("Re: [Group 1] Re: Week 1") == "Re: Week 1"
    assert reply_subject("") == "Re:"


def test_references_name_the_thread_even_when_the_subject_changes(group):
    root = post_to(group, subject="Week 1", message_id="<root@x.org>")
    reply = post_to(group, sender="bob@example.org", subject="Another topic", message_id="<r1@x.org>",
                    headers={"References": "<root@x.org>", "In-Reply-To": "<root@x.org>"})
    deep = post_to(group, subject="Re: Another topic", message_id="<r2@x.org>",
                   headers={"References": "<elsewhere@x.org> <r1@x.org>"})
    assert [p.thread_id for p in (root, reply, deep)] == ["<root@x.org>"] * 3


def test_in_reply_to_alone_names_the_thread(group):
    post_to(group, subject="Week 1", message_id="<root@x.org>")
    reply = post_to(group, subject="Anything", message_id="<r1@x.org>", headers={"In-Reply-To": "<root@x.org>"})
    assert reply.thread_id == "<root@x.org>"


def test_a_reply_without_headers_joins_the_thread_of_its_subject(group):
    root = post_to(group, subject="Week 1: functions", message_id="<root@x.org>")
    post_to(group, subject="Week 1: other", message_id="<other@x.org>")
    reply = post_to(group, sender="bob@example.org", subject="RE: [Group 1] re: week 1:  Functions",
                    message_id="<r1@x.org>")
    assert reply.thread_id == root.thread_id == "<root@x.org>"


def test_a_subject_without_re_starts_its_own_thread_even_if_it_repeats_one(group):
    post_to(group, subject="Meeting", message_id="<m1@x.org>")
    again = post_to(group, subject="Meeting", message_id="<m2@x.org>")
    assert again.thread_id == "<m2@x.org>"


def test_a_reply_whose_subject_matches_nothing_starts_a_thread(group):
    reply = post_to(group, subject="Re: something from before the group", message_id="<r@x.org>")
    assert reply.thread_id == "<r@x.org>"


def test_the_subject_fallback_stays_inside_the_group(group):
    other = make_group(group.cohort, 2, members=["olga@example.org"])
    post_to(other, sender="olga@example.org", subject="Week 1", message_id="<o@x.org>")
    reply = post_to(group, subject="Re: Week 1", message_id="<r@x.org>")
    assert reply.thread_id == "<r@x.org>"


def test_references_to_unknown_messages_keep_the_first_one_as_the_thread(group):
    post_to(group, subject="Week 1", message_id="<root@x.org>")
    reply = post_to(group, subject="Re: Week 1", message_id="<r@x.org>", headers={"References": "<gone@x.org>"})
    assert reply.thread_id == "<gone@x.org>"


def _backfill(apps=global_apps):
    migration = importlib.import_module("mmooc.lists.migrations.0003_post_subject_key_rethread")
    migration.rethread(apps, None)


def test_the_backfill_threads_stored_posts_by_headers_then_subjects(group):
    t0 = datetime(2026, 11, 2, 10, tzinfo=UTC)

    def stored(mid, subject, minutes, **fields):
        post = Post.objects.create(group=group, message_id=mid, subject=subject, raw=b"",
                                   received_at=t0 + timedelta(minutes=minutes), **fields)
        Post.objects.filter(pk=post.pk).update(thread_id=mid, subject_key="")  # as rows were before
        return post

    root = stored("<a@x>", "Week 1", 0)
    by_subject = stored("<b@x>", "Re: [Group 1] week 1", 1)
    by_header = stored("<c@x>", "Re: Re: week 1", 2, in_reply_to="<b@x>", references="<b@x>")
    unrelated = stored("<d@x>", "Meeting", 3)
    other_group = make_group(group.cohort, 2)
    elsewhere = Post.objects.create(group=other_group, message_id="<e@x>", subject="Re: Week 1", raw=b"",
                                    received_at=t0 + timedelta(minutes=4))
    _backfill()
    threads = dict(Post.objects.values_list("message_id", "thread_id"))
    assert threads == {"<a@x>": "<a@x>", "<b@x>": "<a@x>", "<c@x>": "<a@x>", "<d@x>": "<d@x>", "<e@x>": "<e@x>"}
    keys = set(Post.objects.filter(pk__in=[root.pk, by_subject.pk, by_header.pk]).values_list("subject_key", flat=True))
    assert keys == {"week 1"}
    assert Post.objects.get(pk=unrelated.pk).subject_key == "meeting"
    assert Post.objects.get(pk=elsewhere.pk).thread_id == "<e@x>"


def test_the_backfill_run_again_changes_nothing(group):
    Post.objects.create(group=group, message_id="<a@x>", subject="Week 1", raw=b"")
    Post.objects.create(group=group, message_id="<b@x>", subject="Re: Week 1", raw=b"")
    _backfill()
    before = list(Post.objects.values_list("pk", "thread_id", "subject_key"))
    _backfill()
    assert list(Post.objects.values_list("pk", "thread_id", "subject_key")) == before
