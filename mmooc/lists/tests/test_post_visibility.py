"""Staff hide a post from the archive and digests (or show it again), audited."""

from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.lists.models import Post
from mmooc.testing import make_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(group):
    return Post.objects.create(group=group, subject="Rude words", text="…", message_id="<r@x>", raw=b"",
                               author_name="Alice Smith")


def url(post) -> str:
    return f"/groups/{post.group.public_id}/posts/{post.pk}/visibility"


def test_staff_hide_a_post_and_it_is_audited(client, facilitator, post):
    client.force_login(facilitator)
    response = client.post(url(post), {"hidden": "1"})
    assert response.status_code == 302 and response["Location"] == (
        f"/groups/{post.group.public_id}/threads/{post.pk}/#post-{post.pk}")
    post.refresh_from_db()
    assert post.hidden
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.object_id) == ("post.hidden", facilitator, str(post.pk))
    assert "Rude words" in entry.summary


def test_staff_show_a_hidden_post_again(client, organizer, post):
    Post.objects.filter(pk=post.pk).update(hidden=True)
    client.force_login(organizer)
    client.post(url(post), {"hidden": "0"})
    post.refresh_from_db()
    assert not post.hidden and AuditEntry.objects.get().action == "post.shown"


def test_a_signed_in_outsider_gets_403_and_nothing_changes(client, outsider, post):
    client.force_login(outsider)
    assert client.post(url(post), {"hidden": "1"}).status_code == 403
    post.refresh_from_db()
    assert not post.hidden and not AuditEntry.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(client, post):
    response = client.post(url(post), {"hidden": "1"})
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]
    post.refresh_from_db()
    assert not post.hidden


def test_get_is_405(client, organizer, post):
    client.force_login(organizer)
    assert client.get(url(post), {"hidden": "1"}).status_code == 405
    post.refresh_from_db()
    assert not post.hidden and not AuditEntry.objects.exists()


def test_bad_input_is_a_400_that_says_what_to_do(client, organizer, post):
    client.force_login(organizer)
    response = client.post(url(post), {"hidden": "maybe"})
    assert response.status_code == 400 and b"Say whether to hide or show the post." in response.content
    post.refresh_from_db()
    assert not post.hidden and not AuditEntry.objects.exists()


def test_a_post_of_another_group_is_404(client, organizer, post):
    other = make_group(post.group.cohort, 2)
    client.force_login(organizer)
    assert client.post(f"/groups/{other.public_id}/posts/{post.pk}/visibility", {"hidden": "1"}).status_code == 404
    post.refresh_from_db()
    assert not post.hidden
