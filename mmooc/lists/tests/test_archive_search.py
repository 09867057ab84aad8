"""Search within a group's archive: subject and text, any case, words as written, members'
visible posts only, each result a link to its thread."""

from __future__ import annotations

import pytest

from mmooc.learners import lifecycle
from mmooc.lists.links import archive_url
from mmooc.lists.models import Post
from mmooc.testing import make_group

pytestmark = pytest.mark.django_db


def member(group, address="bob@example.org"):
    return group.memberships.get(learner__email=address).learner


def archive(group) -> str:
    return archive_url(group, member(group)).removeprefix("http://127.0.0.1:8000")


def make_post(group, subject="Hello", text="Hi all", author="alice@example.org", **fields) -> Post:
    mid = f"<{Post.objects.count() + 1}@x>"
    writer = member(group, author)
    return Post.objects.create(group=group, author=writer, author_name=writer.name, subject=subject, text=text,
                               message_id=mid, raw=b"", **fields)


def search(client, group, words, **params):
    return client.get(archive(group), {"q": words, **params})


def found(response) -> list[str]:
    assert response.status_code == 200, response.content[-600:]
    return [r["post"].subject for r in response.context["results"]]


def test_subject_and_text_are_searched_in_any_case_newest_first(client, group):
    make_post(group, subject="Recursion is hard", text="help")
    make_post(group, subject="Meeting", text="Shall we talk about RECURSION on Tuesday?")
    make_post(group, subject="Lunch", text="nothing to see")
    response = search(client, group, "recursion")
    assert found(response) == ["Meeting", "Recursion is hard"]
    assert "2 posts hold" in response.content.decode()


def test_a_result_links_to_its_post_in_its_thread(client, group):
    root = make_post(group, subject="Week 1", text="question")
    reply = make_post(group, subject="Re: Week 1", text="the answer is 42", thread_id=root.message_id)
    response = search(client, group, "answer is 42")
    [result] = response.context["results"]
    assert result["url"].endswith(f"/threads/{reply.pk}/#post-{reply.pk}")
    thread = client.get(result["url"].split("#")[0])
    assert [p.text for p in thread.context["posts"]] == ["question", "the answer is 42"]


@pytest.mark.parametrize("words", ["%", "_", "\\", "%%", "a_c", "' OR 1=1 --", "'; DROP TABLE lists_post; --",
                                   "\" OR \"\"=\"", "*", "[a-z]", "(?i).*"])
def test_hostile_words_are_matched_as_written(client, group, words):
    make_post(group, subject="Plain", text="abc and nothing special")
    make_post(group, subject="Literal", text=f"this holds {words} as written")
    assert found(search(client, group, words)) == ["Literal"]
    assert Post.objects.count() == 2


def test_a_very_long_search_is_a_400_that_says_so(client, group):
    make_post(group, subject="Plain", text="x" * 300)
    response = search(client, group, "x" * 201)
    assert response.status_code == 400
    assert "Search for at most 200 characters." in response.content.decode()
    assert response.context["results"] == [] and response.context["threads"] == []


def test_a_null_character_is_a_400_that_says_so(client, group):
    make_post(group, subject="Plain")
    response = search(client, group, "a\x00b")
    assert response.status_code == 400 and b"cannot contain a null character" in response.content


def test_hidden_and_held_posts_are_never_found(client, group):
    make_post(group, subject="Secret one", text="needle", hidden=True)
    make_post(group, subject="Secret two", text="needle", held=True)
    make_post(group, subject="Open", text="needle")
    assert found(search(client, group, "needle")) == ["Open"]
    assert found(search(client, group, "secret")) == []


def test_another_groups_posts_are_never_found(client, group):
    other = make_group(group.cohort, 2, members=["olga@example.org"])
    Post.objects.create(group=other, subject="Theirs", text="needle", message_id="<o@x>", raw=b"")
    assert found(search(client, group, "needle")) == []


def test_an_erased_members_name_is_never_shown(client, group, django_capture_on_commit_callbacks):
    make_post(group, subject="Notes", text="My notes, Alice Smith", author="alice@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.erase(member(group, "alice@example.org"))
    for words in ("notes", "Alice"):
        content = search(client, group, words).content.decode()
        assert "Alice" not in content.replace("value=\"Alice\"", "").replace("“Alice”", "")
    response = search(client, group, "notes")
    assert found(response) == ["Notes"] and "A member" in response.content.decode()


def test_results_are_paged_with_the_words_kept(client, group):
    for i in range(23):
        make_post(group, subject=f"Topic {i}", text="needle")
    first = search(client, group, "needle")
    second = search(client, group, "needle", page=2)
    assert len(found(first)) == 20 and len(found(second)) == 3
    assert "q=needle&amp;page=2" in first.content.decode()


def test_an_empty_search_lists_the_threads(client, group):
    make_post(group, subject="Week 1")
    response = search(client, group, "   ")
    assert response.status_code == 200 and [t["subject"] for t in response.context["threads"]] == ["Week 1"]


def test_an_erased_members_name_in_their_own_subject_is_gone_from_list_and_search(client, group,
                                                                                  django_capture_on_commit_callbacks):
    make_post(group, subject="Alice Smith's notes for week 1", text="notes", author="alice@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.erase(member(group, "alice@example.org"))
    listed = client.get(archive(group))
    assert [t["subject"] for t in listed.context["threads"]] == ["A member's notes for week 1"]
    assert "Alice" not in listed.content.decode()
    assert found(search(client, group, "Smith")) == []
    assert found(search(client, group, "notes for week")) == ["A member's notes for week 1"]
