"""The group's page (its List-Archive URL): the whole archive for staff, a pointer for anyone else."""

from __future__ import annotations

import uuid

import pytest

from mmooc.lists.models import Post, Refusal

pytestmark = pytest.mark.django_db


def url(group) -> str:
    return f"/groups/{group.public_id}/"


def make_post(group, subject, **fields):
    return Post.objects.create(group=group, subject=subject, text="words", message_id=f"<{subject}@x>",
                               thread_id=f"<{subject}@x>", raw=b"", author_name="Alice", **fields)


def test_staff_see_every_post_hidden_and_held_ones_marked(client, facilitator, group):
    make_post(group, "Shown")
    make_post(group, "Hidden", hidden=True)
    make_post(group, "Held", held=True, held_reason="Mailgun judged it spam")
    client.force_login(facilitator)
    response = client.get(url(group))
    assert response.status_code == 200
    assert [t["subject"] for t in response.context["threads"]] == ["Held", "Hidden", "Shown"]
    assert [t["withheld"] for t in response.context["threads"]] == [1, 1, 0]
    held, hidden, _ = response.context["threads"]
    assert b"Show again" in client.get(hidden["url"]).content
    assert b"Mailgun judged it spam" in client.get(held["url"]).content


def test_a_thread_for_staff_needs_staff(client, outsider, group):
    post = make_post(group, "Private words")
    thread = f"/groups/{group.public_id}/threads/{post.pk}/"
    assert client.get(thread).status_code == 302  # to sign in
    client.force_login(outsider)
    assert client.get(thread).status_code == 403


def test_staff_see_the_messages_not_relayed(client, organizer, group):
    Refusal.objects.create(group=group, reason=Refusal.NON_MEMBER, sender="mallory@example.org", subject="Buy")
    client.force_login(organizer)
    response = client.get(url(group))
    assert b"mallory@example.org" in response.content and b"Sender is not a member" in response.content


def test_anyone_else_gets_a_members_only_page_without_posts(client, group):
    make_post(group, "Private words")
    response = client.get(url(group))
    assert response.status_code == 200
    assert b"open to its members only" in response.content and b"Private words" not in response.content


def test_a_signed_in_outsider_sees_no_posts(client, outsider, group):
    make_post(group, "Private words")
    client.force_login(outsider)
    assert b"Private words" not in client.get(url(group)).content


def test_an_unknown_group_is_404(client, organizer):
    client.force_login(organizer)
    assert client.get(f"/groups/{uuid.uuid4()}/").status_code == 404


def test_a_post_is_the_members_link_form_even_for_staff(client, organizer, group):
    make_post(group, "Private words")
    client.force_login(organizer)
    response = client.post(url(group))
    assert response.status_code == 400 and b"Private words" not in response.content
    assert client.put(url(group)).status_code == 405


def test_a_bad_page_number_is_a_400(client, organizer, group):
    client.force_login(organizer)
    response = client.get(url(group) + "?page=0")
    assert response.status_code == 400 and b"The page must be 1 or more." in response.content
