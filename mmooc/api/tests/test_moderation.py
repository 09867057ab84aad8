"""The moderation queue by API: held posts listed, approved (relayed once) and rejected, audited."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.api.models import ApiToken
from mmooc.api.tests.conftest import error_code
from mmooc.audit.models import AuditEntry
from mmooc.lists import relay
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer.models import Delivery, Message

pytestmark = pytest.mark.usefixtures("outbox_mode")


@pytest.fixture
def group(cohort):
    return testing.make_group(cohort, 1, members=["ann@example.org", "ben@example.org", "cat@example.org"])


def held(group, sender="ann@example.org", **kw) -> Post:
    [outcome] = relay.receive(raw_post(sender=sender, to=group.address, **kw), sender, [group.address],
                              held_reason="Mailgun judged it spam (score 7)")
    return Post.objects.get(pk=outcome.post_id)


def test_held_posts_are_listed_with_why_and_who(api, cohort, group):
    first = held(group, body="<b>cheap</b> things")
    relay.receive(raw_post(sender="ben@example.org", to=group.address), "ben@example.org", [group.address])
    relay.receive(raw_post(sender="stranger@example.net", to=group.address), "stranger@example.net",
                  [group.address])
    body = api.get(f"/cohorts/{cohort.slug}/moderation").json()
    assert [(p["id"], p["kind"], p["sender"], p["group"]) for p in body["data"]] == [
        (first.pk, "spam", "ann@example.org", 1),
        (Post.objects.get(author__isnull=True).pk, "unknown-sender", "stranger@example.net", 1)]
    assert body["data"][0]["preview"] == "<b>cheap</b> things" and body["has_more"] is False


def test_approving_relays_once_and_is_audited_as_by_api(api, cohort, group):
    post = held(group)
    url = f"/cohorts/{cohort.slug}/moderation/{post.pk}/approve"
    resp = api.post(url)
    assert resp.status_code == 200 and resp.json()["held"] is False
    assert sorted(Delivery.objects.filter(message__tag="relay").values_list("recipient", flat=True)) == [
        "ben@example.org", "cat@example.org"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["via"]) == ("post.approved", "api")
    again = api.post(url)
    assert again.status_code == 409 and error_code(again) == "post_not_held"
    assert Message.objects.filter(tag="relay").count() == 1 and AuditEntry.objects.count() == 1


def test_rejecting_deletes_and_tells_the_sender(api, cohort, group):
    post = held(group)
    resp = api.post(f"/cohorts/{cohort.slug}/moderation/{post.pk}/reject", {"note": "Please no ads."})
    assert resp.json() == {"rejected": True, "sender_told": True}
    assert not Post.objects.exists()
    assert Delivery.objects.get(message__tag="list-rejection").recipient == "ann@example.org"


def test_a_read_only_token_or_another_cohorts_token_changes_nothing(cohort, group, make_client):
    post = held(group)
    reader = make_client(scope=ApiToken.READ)
    assert reader.post(f"/cohorts/{cohort.slug}/moderation/{post.pk}/approve").status_code == 403
    other = make_client(cohort=testing.make_cohort(slug="other"))
    assert other.post(f"/cohorts/{cohort.slug}/moderation/{post.pk}/reject").status_code == 404
    assert Post.objects.get().held and not Message.objects.exists() and not AuditEntry.objects.exists()


def test_a_post_of_another_cohort_is_not_found(api, cohort, group):
    elsewhere = testing.make_group(testing.make_cohort(slug="other"), 1, members=["zed@example.org", "yan@e.org"])
    post = held(elsewhere, sender="zed@example.org")
    resp = api.post(f"/cohorts/{cohort.slug}/moderation/{post.pk}/approve")
    assert resp.status_code == 404 and Post.objects.get().held and not AuditEntry.objects.exists()


def test_too_big_and_muted_posts_are_listed_with_their_kind_and_the_size_limit(api, cohort, group, monkeypatch):
    from mmooc.groups.models import Membership

    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    big = raw_post(sender="ann@example.org", to=group.address, body="x" * 3000)
    relay.receive(big, "ann@example.org", [group.address])
    Membership.objects.filter(learner__email="ben@example.org").update(muted=True)
    relay.receive(raw_post(sender="ben@example.org", to=group.address), "ben@example.org", [group.address])
    body = api.get(f"/cohorts/{cohort.slug}/moderation").json()
    assert [(p["kind"], p["sender"], p["size_limit"]) for p in body["data"]] == [
        ("too-big", "ann@example.org", 2000), ("muted", "ben@example.org", 2000)]
    assert body["data"][0]["size"] == len(big) and body["data"][0]["held_reason"] == relay.TOO_BIG


def test_approving_a_muted_members_post_relays_it_and_keeps_them_muted(api, cohort, group):
    from mmooc.groups.models import Membership

    Membership.objects.filter(learner__email="ann@example.org").update(muted=True)
    [outcome] = relay.receive(raw_post(sender="ann@example.org", to=group.address), "ann@example.org",
                              [group.address])
    assert api.post(f"/cohorts/{cohort.slug}/moderation/{outcome.post_id}/approve").status_code == 200
    assert sorted(Delivery.objects.filter(message__tag="relay").values_list("recipient", flat=True)) == [
        "ben@example.org", "cat@example.org"]
    assert Membership.objects.get(learner__email="ann@example.org").muted
    assert AuditEntry.objects.get().details["kind"] == "muted"
