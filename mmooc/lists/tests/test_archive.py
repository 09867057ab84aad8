"""A member's view of their group's archive, by the signed link from their learner page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mmooc.groups.models import Membership
from mmooc.lists.links import archive_url
from mmooc.lists.models import Post
from mmooc.testing import make_group

pytestmark = pytest.mark.django_db


def member(group, address="bob@example.org"):
    return group.memberships.get(learner__email=address).learner


def path_for(group, learner) -> str:
    return archive_url(group, learner).removeprefix("http://127.0.0.1:8000")


def make_post(group, subject="Hello", text="Hi all", thread="<t1@x>", mid=None, **fields) -> Post:
    mid = mid or f"<{Post.objects.count() + 1}@x>"
    return Post.objects.create(group=group, author=member(group, "alice@example.org"), author_name="Alice Smith",
                               subject=subject, text=text, message_id=mid, thread_id=thread, raw=b"", **fields)


def test_a_member_sees_the_threads_with_their_posts(client, group):
    make_post(group, subject="Week 1", text="First question", thread="<a@x>", mid="<a@x>")
    make_post(group, subject="Re: Week 1", text="An answer", thread="<a@x>")
    make_post(group, subject="Meeting", text="Tuesday?", thread="<m@x>", mid="<m@x>")
    response = client.get(path_for(group, member(group)))
    assert response.status_code == 200
    threads = response.context["threads"]
    assert [(t["subject"], len(t["posts"])) for t in threads] == [("Meeting", 1), ("Week 1", 2)]
    assert b"An answer" in response.content


def test_post_text_is_shown_escaped(client, group):
    make_post(group, text='<img src=x onerror="alert(1)"> & <b>bold</b>')
    response = client.get(path_for(group, member(group)))
    assert b"&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in response.content
    assert b"<img src=x" not in response.content


def test_hidden_and_held_posts_are_not_shown(client, group):
    make_post(group, subject="Visible")
    make_post(group, subject="Hidden post", hidden=True, thread="<h@x>")
    make_post(group, subject="Held post", held=True, thread="<k@x>")
    content = client.get(path_for(group, member(group))).content
    assert b"Visible" in content and b"Hidden post" not in content and b"Held post" not in content


def test_a_tampered_link_gives_404_and_says_so(client, group):
    path = path_for(group, member(group))
    response = client.get(path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:])
    assert response.status_code == 404
    assert b"This link is not valid or has expired" in response.content


def test_a_former_member_can_no_longer_open_it(client, group):
    path = path_for(group, member(group))
    Membership.objects.filter(learner__email="bob@example.org").update(left_at=timezone.now())
    assert client.get(path).status_code == 404


def test_a_link_for_another_group_shows_nothing_of_this_one(client, group):
    other = make_group(group.cohort, 2, members=["olga@example.org"])
    make_post(group, subject="Secret of group 1")
    response = client.get(path_for(other, member(other, "olga@example.org")))
    assert response.status_code == 200 and b"Secret of group 1" not in response.content


def test_it_refuses_post(client, group):
    assert client.post(path_for(group, member(group))).status_code == 405


def test_a_bad_page_number_is_a_400_with_a_message(client, group):
    response = client.get(path_for(group, member(group)) + "?page=abc")
    assert response.status_code == 400 and b"The page must be a whole number." in response.content


def test_threads_are_paginated(client, group):
    for i in range(25):
        make_post(group, subject=f"Topic {i}", thread=f"<t{i}@x>")
    first = client.get(path_for(group, member(group)))
    second = client.get(path_for(group, member(group)) + "?page=2")
    assert len(first.context["threads"]) == 20 and len(second.context["threads"]) == 5


@pytest.mark.parametrize(("zone", "shown"), [("America/Los_Angeles", "Tue 10 Nov 2026, 13:17"),
                                             ("Asia/Kolkata", "Wed 11 Nov 2026, 02:47"),
                                             ("Pacific/Chatham", "Wed 11 Nov 2026, 11:02")])
def test_post_times_are_in_the_readers_zone(client, group, zone, shown):
    from datetime import UTC, datetime

    reader = member(group)
    reader.timezone = zone
    reader.save(update_fields=["timezone"])
    make_post(group, received_at=datetime(2026, 11, 10, 21, 17, tzinfo=UTC))
    content = client.get(path_for(group, reader)).content.decode()
    assert shown in content and ", 21:17" not in content and zone in content
