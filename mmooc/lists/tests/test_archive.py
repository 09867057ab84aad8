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


def test_a_member_sees_the_threads_newest_activity_first_with_replies_and_last_time(client, group):
    from datetime import UTC, datetime

    first = make_post(group, subject="Week 1", text="First question", thread="<a@x>", mid="<a@x>",
                      received_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    make_post(group, subject="Meeting", text="Tuesday?", thread="<m@x>", mid="<m@x>",
              received_at=datetime(2026, 11, 11, 9, 0, tzinfo=UTC))
    make_post(group, subject="Re: Week 1", text="An answer", thread="<a@x>",
              received_at=datetime(2026, 11, 12, 9, 0, tzinfo=UTC))
    response = client.get(path_for(group, member(group)))
    assert response.status_code == 200
    threads = response.context["threads"]
    assert [(t["subject"], t["replies"], t["last"].day) for t in threads] == [("Week 1", 1, 12), ("Meeting", 0, 11)]
    assert threads[0]["url"].endswith(f"/threads/{first.pk}/")
    assert "1 reply" in response.content.decode() and "Thu 12 Nov 2026, 09:00" in response.content.decode()
    assert b"An answer" not in response.content  # the list shows subjects; a thread page shows posts


def test_a_thread_page_shows_its_posts_in_order_and_a_reply_link(client, group):
    first = make_post(group, subject="[Group 1] Week 1 & more", text="First question", thread="<a@x>", mid="<a@x>")
    make_post(group, subject="Re: [Group 1] Week 1 & more", text="An answer", thread="<a@x>")
    make_post(group, subject="Meeting", text="Tuesday?", thread="<m@x>", mid="<m@x>")
    response = client.get(response_url := path_for(group, member(group)) + f"threads/{first.pk}/")
    assert response.status_code == 200, response_url
    assert [p.text for p in response.context["posts"]] == ["First question", "An answer"]
    content = response.content.decode()
    assert content.index("First question") < content.index("An answer") and "Tuesday?" not in content
    assert f'href="mailto:{group.address}?subject=Re%3A%20Week%201%20%26%20more"' in content


def test_a_thread_of_another_group_or_of_hidden_posts_is_404(client, group):
    other = make_group(group.cohort, 2, members=["olga@example.org"])
    theirs = Post.objects.create(group=other, subject="Secret", text="x", message_id="<s@x>", raw=b"")
    hidden = make_post(group, subject="Hidden", hidden=True, thread="<h@x>")
    base = path_for(group, member(group))
    assert client.get(base + f"threads/{theirs.pk}/").status_code == 404
    assert client.get(base + f"threads/{hidden.pk}/").status_code == 404
    assert client.get(base + "threads/999999/").status_code == 404


def test_a_closed_groups_thread_has_no_reply_link(client, group):
    first = make_post(group, subject="Old", thread="<o@x>", mid="<o@x>")
    path = path_for(group, member(group)) + f"threads/{first.pk}/"
    other = make_group(group.cohort, 2)
    for membership in group.memberships.all():
        membership.left_at = timezone.now()
        membership.save(update_fields=["left_at"])
        Membership.objects.create(group=other, learner=membership.learner)
    content = client.get(path).content.decode()
    assert "Old" in content and "mailto:" + group.address + "?subject" not in content


def test_post_text_is_shown_escaped(client, group):
    post = make_post(group, text='<img src=x onerror="alert(1)"> & <b>bold</b>')
    response = client.get(path_for(group, member(group)) + f"threads/{post.pk}/")
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
    post = make_post(group, received_at=datetime(2026, 11, 10, 21, 17, tzinfo=UTC))
    content = client.get(path_for(group, reader)).content.decode()
    assert shown in content and ", 21:17" not in content and zone in content
    content = client.get(path_for(group, reader) + f"threads/{post.pk}/").content.decode()
    assert shown in content and ", 21:17" not in content and zone in content


def test_the_archive_takes_as_many_queries_for_thousands_of_posts_as_for_a_few(client, group):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    alice = member(group, "alice@example.org")

    def add(count: int, start: int) -> None:
        Post.objects.bulk_create([
            Post(group=group, author=alice, author_name="Alice Smith", subject=f"Topic {i % 300}", text="words",
                 message_id=f"<{i}@x>", thread_id=f"<{i % 300}@x>", raw=b"") for i in range(start, start + count)])

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    add(40, 0)
    path = path_for(group, member(group))
    thread = path + f"threads/{Post.objects.get(message_id='<1@x>').pk}/"
    few = (queries(path), queries(path + "?q=words"), queries(thread))
    add(2000, 40)
    many = (queries(path), queries(path + "?q=words"), queries(thread))
    assert many == few
