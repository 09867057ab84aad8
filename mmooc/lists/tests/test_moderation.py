"""The moderation queue: held posts across a cohort's groups, approved, rejected or released, audited."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from django.test import Client

from mmooc import testing
from mmooc.audit.models import AuditEntry
from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.lists import aliases, moderation, relay
from mmooc.lists.models import HeldNote, Moderation, Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import add_member, facilitate, make_group

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]


def facilitating_every_group(user):
    """The facilitator of every study group there is: the queue shows a facilitator their groups only."""
    from mmooc.groups.models import StudyGroup

    return facilitate(user, *StudyGroup.objects.all())

SPAM = "Mailgun judged it spam (score 7)"


def queue_url(cohort) -> str:
    return f"/dashboard/cohorts/{cohort.slug}/moderation/"


def decide_url(cohort) -> str:
    return queue_url(cohort) + "decide/"


def spam_post(group, sender="alice@example.org", **kw) -> Post:
    [outcome] = relay.receive(raw_post(sender=sender, to=group.address, **kw), sender, [group.address],
                              held_reason=SPAM)
    assert outcome.action == relay.HELD
    return Post.objects.get(pk=outcome.post_id)


def copies(group) -> dict[str, object]:
    """What each member receives: the rendered copies of every relayed post, by address."""
    engine.drain()
    rows = Delivery.objects.filter(message__tag="relay", message__scope=Cohort.scope_for(group.cohort_id))
    return {d.recipient: message_from_bytes(bytes(d.stored), policy=policy.default) for d in rows}


def state() -> tuple[list[tuple[int, bool]], int, int]:
    """Everything a refused request must leave as it was."""
    return (sorted(Post.objects.values_list("pk", "held")), Message.objects.count(), AuditEntry.objects.count())


# The queue page -----------------------------------------------------------------------------


def test_the_queue_lists_every_held_post_of_the_cohort_oldest_first_and_escapes_their_text(client, facilitator,
                                                                                          cohort, group):
    other_group = make_group(cohort, 2, members=["dan@example.org"])
    first = spam_post(group, body="<script>alert(1)</script> buy now", subject="Cheap <b>pills</b>")
    relay.receive(raw_post(sender="bob@example.org", to=group.address), "bob@example.org", [group.address])
    second = spam_post(other_group, sender="dan@example.org")
    elsewhere = make_group(testing.make_cohort(slug="elsewhere"), 1, members=["zed@example.org"])
    spam_post(elsewhere, sender="zed@example.org")
    client.force_login(facilitating_every_group(facilitator))
    response = client.get(queue_url(cohort))
    assert response.status_code == 200
    html = response.content.decode()
    assert [item["post"].pk for item in response.context["items"]] == [first.pk, second.pk]
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; buy now" in html
    assert "Cheap &lt;b&gt;pills&lt;/b&gt;" in html
    assert "alice@example.org" in html and SPAM in html and "Judged spam by the provider" in html
    assert "2 held posts" in html


def test_an_unknown_senders_post_shows_its_address(client, facilitator, cohort, group):
    relay.receive(raw_post(sender="alice.home@example.net", to=group.address), "alice.home@example.net",
                  [group.address])
    client.force_login(facilitating_every_group(facilitator))
    html = client.get(queue_url(cohort)).content.decode()
    assert "alice.home@example.net" in html and "Sender not yet known" in html


def test_the_groups_page_and_the_cohort_nav_link_to_the_queue_with_its_count(client, facilitator, cohort, group):
    spam_post(group)
    spam_post(group, sender="bob@example.org")
    client.force_login(facilitating_every_group(facilitator))
    html = client.get(f"/dashboard/cohorts/{cohort.slug}/groups/").content.decode()
    assert f'<a href="{queue_url(cohort)}">Moderation queue (2)</a>' in html
    assert f'href="{queue_url(cohort)}">Moderation</a>' in html


def test_an_outsider_may_not_see_the_queue(client, outsider, cohort, group):
    spam_post(group)
    client.force_login(outsider)
    assert client.get(queue_url(cohort)).status_code == 403
    client.logout()
    assert client.get(queue_url(cohort)).status_code == 302


# Approve ------------------------------------------------------------------------------------


def test_approving_relays_the_post_as_it_would_have_gone_and_is_audited(client, facilitator, cohort, group):
    post = spam_post(group, subject="Week 1 notes")
    client.force_login(facilitating_every_group(facilitator))
    response = client.post(decide_url(cohort), {"post": post.pk, "action": "approve"})
    assert response.status_code == 302 and response["Location"] == queue_url(cohort)
    post.refresh_from_db()
    assert (post.held, post.held_reason) == (False, "") and post.outbox_message is not None
    got = copies(group)
    assert sorted(got) == ["bob@example.org", "carol@example.org"]
    copy = got["bob@example.org"]
    assert str(copy["Subject"]) == "[Group 1] Week 1 notes"
    assert str(copy["From"]) == f"Alice Smith via Group 1 <{group.address}>"
    assert str(copy["X-Original-From"]) == '"Alice Smith" <alice@example.org>'
    assert str(copy["Message-ID"]) == post.message_id
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.object_id) == ("post.approved", facilitator, str(post.pk))
    assert entry.details["held_reason"] == SPAM
    # Now the members see it, and a repeat of the message is a duplicate.
    assert list(Post.objects.visible()) == [post]


def test_approved_copies_are_those_a_post_never_held_gets(client, facilitator, cohort, group):
    raw = raw_post(to=group.address, message_id="<same@mail.example.org>")
    relay.receive(raw, "alice@example.org", [group.address], held_reason=SPAM)
    client.force_login(facilitating_every_group(facilitator))
    client.post(decide_url(cohort), {"post": Post.objects.get().pk, "action": "approve"})
    approved = {a: bytes(c) for a, c in copies(group).items()}
    # The same message to a twin group, relayed at once.
    twin = make_group(testing.make_cohort(slug="py-3b"), 1, address=group.address.replace("py-3", "py-3b"),
                      name="Group 1")
    for address in ("alice@example.org", "bob@example.org", "carol@example.org"):
        add_member(twin, address, name={"alice": "Alice Smith", "bob": "Bob Jones",
                                        "carol": "Carol Diaz"}[address.split("@")[0]])
    relay.receive(raw.replace(group.address.encode(), twin.address.encode()), "alice@example.org", [twin.address])
    direct = {a: bytes(c) for a, c in copies(twin).items()}
    assert sorted(approved) == sorted(direct)

    def shape(data: bytes) -> list[str]:
        msg = message_from_bytes(data, policy=policy.default)
        skip = {"List-Unsubscribe", "Date", "Received", "List-Archive", "Return-Path", "DKIM-Signature"}
        return [name for name in msg.keys() if name not in skip]

    assert shape(approved["bob@example.org"]) == shape(direct["bob@example.org"])


def test_a_double_click_sends_once(client, facilitator, cohort, group):
    post = spam_post(group)
    client.force_login(facilitating_every_group(facilitator))
    client.post(decide_url(cohort), {"post": post.pk, "action": "approve"})
    before = state()
    response = client.post(decide_url(cohort), {"post": post.pk, "action": "approve"}, follow=True)
    assert "1 had already been decided" in response.content.decode()
    assert state() == before
    assert Message.objects.filter(tag="relay").count() == 1 and len(copies(group)) == 2
    assert AuditEntry.objects.filter(action="post.approved").count() == 1


def test_approving_a_post_from_an_unknown_address_relays_it_from_that_address(client, facilitator, cohort, group):
    relay.receive(raw_post(sender="alice.home@example.net", to=group.address, name="Al"),
                  "alice.home@example.net", [group.address])
    post = Post.objects.get()
    client.force_login(facilitating_every_group(facilitator))
    client.post(decide_url(cohort), {"post": post.pk, "action": "approve"})
    got = copies(group)
    assert sorted(got) == ["alice@example.org", "bob@example.org", "carol@example.org"]
    assert str(got["bob@example.org"]["X-Original-From"]) == '"Al" <alice.home@example.net>'
    with pytest.raises(aliases.InvalidClaim):
        aliases.held_post(post.pk)  # no longer waiting for a claim


def test_release_from_spam_approves_and_is_audited_as_a_release(client, organizer, cohort, group):
    post = spam_post(group)
    client.force_login(organizer)
    client.post(decide_url(cohort), {"post": post.pk, "action": "release"})
    post.refresh_from_db()
    assert not post.held and len(copies(group)) == 2
    assert AuditEntry.objects.get().action == "post.released"


def test_release_from_spam_is_refused_for_a_post_not_judged_spam(client, organizer, cohort, group):
    relay.receive(raw_post(sender="alice.home@example.net", to=group.address), "alice.home@example.net",
                  [group.address])
    before = state()
    client.force_login(organizer)
    response = client.post(decide_url(cohort), {"post": Post.objects.get().pk, "action": "release"})
    assert response.status_code == 400 and "Only posts the provider judged spam" in response.content.decode()
    assert state() == before


def test_bulk_approve_relays_each_selected_post_once(client, facilitator, cohort, group):
    first, second, third = spam_post(group), spam_post(group, sender="bob@example.org"), spam_post(group)
    client.force_login(facilitating_every_group(facilitator))
    response = client.post(decide_url(cohort), {"post": [first.pk, second.pk, first.pk], "action": "approve"},
                           follow=True)
    assert "2 posts approved and sent to the group." in response.content.decode()
    assert sorted(Post.objects.filter(held=True).values_list("pk", flat=True)) == [third.pk]
    assert Message.objects.filter(tag="relay").count() == 2
    assert AuditEntry.objects.filter(action="post.approved").count() == 2


# Reject -------------------------------------------------------------------------------------


def test_rejecting_deletes_the_post_and_sends_the_note_in_the_learners_language(client, facilitator, cohort, group):
    Learner.objects.filter(email="alice@example.org").update(language="es")
    post = spam_post(group, subject="Mis apuntes")
    client.force_login(facilitating_every_group(facilitator))
    response = client.post(decide_url(cohort), {"post": post.pk, "action": "reject",
                                                "note": "Please share files as a link {{ learner.name }}."})
    assert response.status_code == 302
    assert not Post.objects.exists() and not Message.objects.filter(tag="relay").exists()
    note = Message.objects.get(tag="list-rejection")
    delivery = note.deliveries.get()
    assert delivery.recipient == "alice@example.org"
    assert note.subject == "Tu mensaje a {{ group_name }} no se envió"
    assert "> Please share files as a link { { learner.name } }." in note.body
    assert note.headers["Content-Language"] == "es" and note.headers["Auto-Submitted"] == "auto-replied"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["sender_told"], entry.details["sender"]) == (
        "post.rejected", True, "alice@example.org")


def test_rejecting_without_a_note_tells_nobody(client, facilitator, cohort, group):
    post = spam_post(group)
    client.force_login(facilitating_every_group(facilitator))
    client.post(decide_url(cohort), {"post": post.pk, "action": "reject"})
    assert not Post.objects.exists() and not Message.objects.exists()
    assert AuditEntry.objects.get().details["sender_told"] is False


@pytest.mark.parametrize("headers", [{"List-Id": "Other list <other.example.com>"},
                                     {"Auto-Submitted": "auto-generated"}, {"Return-Path": "<>"}])
def test_no_note_answers_list_mail_bounces_or_automatic_mail(client, facilitator, cohort, group, headers):
    # The relay drops automatic mail and bounces before holding anything; a post held before
    # those checks existed, or by another way, still gets no answer.
    alice = Learner.objects.get(email="alice@example.org")
    post = Post.objects.create(group=group, author=alice, author_name="Alice Smith", message_id="<auto@x>",
                               subject="Re: hello", text="…", raw=raw_post(to=group.address, headers=headers),
                               held=True, held_reason=SPAM)
    client.force_login(facilitating_every_group(facilitator))
    client.post(decide_url(cohort), {"post": post.pk, "action": "reject", "note": "No."})
    assert not Post.objects.exists() and not Message.objects.exists()
    assert AuditEntry.objects.get().details["sender_told"] is False


def test_no_note_goes_to_an_address_on_our_list_domain(cohort, group, facilitator):
    post = spam_post(group)
    Learner.objects.filter(email="alice@example.org").update(email="someone@lists.course.example.org")
    post = Post.objects.select_related("group", "author").get(pk=post.pk)
    assert moderation.reject(post, facilitator, "No.")
    assert not Message.objects.exists()


def test_bulk_reject_sends_one_note_per_sender(client, facilitator, cohort, group):
    posts = [spam_post(group), spam_post(group), spam_post(group, sender="bob@example.org")]
    client.force_login(facilitating_every_group(facilitator))
    response = client.post(decide_url(cohort), {"post": [p.pk for p in posts], "action": "reject",
                                                "note": "Not for the group."}, follow=True)
    assert "3 posts rejected. The note went to 2 senders." in response.content.decode()
    assert sorted(Delivery.objects.values_list("recipient", flat=True)) == ["alice@example.org", "bob@example.org"]
    assert AuditEntry.objects.filter(action="post.rejected").count() == 3


# Refusals change nothing -----------------------------------------------------------------------


@pytest.mark.parametrize("data, says", [
    ({"action": "approve"}, "Select at least one post."),
    ({"action": "publish", "post": "P"}, "Choose approve, reject or release."),
    ({"action": "approve", "post": "P", "note": "hello"}, "A note to the sender goes only with a rejection."),
    ({"action": "reject", "post": "P", "note": "x" * 2001}, "at most 2000 characters"),
    ({"action": "approve", "post": "OTHER"}, "A selected post does not belong to this cohort."),
    ({"action": "approve", "post": "nine"}, "A selected post does not belong to this cohort."),
])
def test_bad_decisions_are_refused_and_change_nothing(client, facilitator, cohort, group, data, says):
    post = spam_post(group)
    other = spam_post(make_group(testing.make_cohort(slug="other"), 1, members=["zed@example.org"]),
                      sender="zed@example.org")
    data = {k: {"P": post.pk, "OTHER": other.pk}.get(v, v) for k, v in data.items()}
    before = state()
    client.force_login(facilitating_every_group(facilitator))
    response = client.post(decide_url(cohort), data)
    assert response.status_code == 400 and says in response.content.decode()
    assert state() == before


def test_an_outsider_or_a_visitor_cannot_decide(client, outsider, cohort, group):
    post = spam_post(group)
    before = state()
    assert client.post(decide_url(cohort), {"post": post.pk, "action": "approve"}).status_code == 302
    client.force_login(outsider)
    assert client.post(decide_url(cohort), {"post": post.pk, "action": "approve"}).status_code == 403
    assert state() == before


def test_a_decision_needs_post_and_csrf(facilitator, cohort, group):
    post = spam_post(group)
    before = state()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(facilitator)
    assert browser.get(decide_url(cohort), {"post": post.pk, "action": "approve"}).status_code == 405
    assert browser.post(decide_url(cohort), {"post": post.pk, "action": "approve"}).status_code == 403
    assert state() == before


# Hold the first post of a new member ----------------------------------------------------------


def test_first_posts_are_not_held_by_default(group):
    [outcome] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address])
    assert outcome.action == relay.RELAYED


def test_with_the_option_on_a_new_members_first_post_is_held_until_approved(client, facilitator, cohort, group):
    Moderation.objects.create(cohort=cohort, hold_first_post=True)
    [outcome] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address])
    assert outcome.action == relay.HELD
    post = Post.objects.get()
    assert post.held_reason == relay.FIRST_POST and moderation.kind_of(post) == moderation.FIRST_POST
    [again] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address])
    assert again.action == relay.HELD  # still new: nothing of theirs has gone to the group
    client.force_login(facilitating_every_group(facilitator))
    client.post(decide_url(cohort), {"post": [p.pk for p in Post.objects.all()], "action": "approve"})
    [later] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address])
    assert later.action == relay.RELAYED


def test_the_option_does_not_hold_a_member_who_has_posted_or_another_cohorts_members(cohort, group):
    relay.receive(raw_post(to=group.address), "alice@example.org", [group.address])
    Moderation.objects.create(cohort=cohort, hold_first_post=True)
    [outcome] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address])
    assert outcome.action == relay.RELAYED
    other = make_group(testing.make_cohort(slug="other"), 1, members=["zed@example.org", "yan@example.org"])
    [outcome] = relay.receive(raw_post(sender="zed@example.org", to=other.address), "zed@example.org",
                              [other.address])
    assert outcome.action == relay.RELAYED


def test_organizers_turn_the_option_on_and_off_audited(client, organizer, cohort):
    client.force_login(organizer)
    url = queue_url(cohort) + "first-post/"
    assert client.post(url, {"hold_first_post": "1"}).status_code == 302
    assert moderation.hold_first_post(cohort)
    client.post(url, {"hold_first_post": "1"})  # already on: nothing more recorded
    client.post(url, {"hold_first_post": "0"})
    assert not moderation.hold_first_post(cohort)
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "moderation.first_post_on", "moderation.first_post_off"]


def test_a_facilitator_may_not_change_the_option_nor_say_nonsense(client, facilitator, organizer, cohort):
    url = queue_url(cohort) + "first-post/"
    client.force_login(facilitating_every_group(facilitator))
    assert client.post(url, {"hold_first_post": "1"}).status_code == 403
    client.force_login(organizer)
    response = client.post(url, {"hold_first_post": "maybe"})
    assert response.status_code == 400 and "Say whether to hold first posts." in response.content.decode()
    assert not Moderation.objects.exists() and not AuditEntry.objects.exists()


# The daily note ------------------------------------------------------------------------------


def test_organizers_are_told_once_a_day_of_held_posts_in_groups_without_facilitators(cohort, group, organizer,
                                                                                      facilitator):
    import time_machine

    testing.make_organizer("otto")
    spam_post(group)
    spam_post(make_group(cohort, 2, members=["dan@example.org"]), sender="dan@example.org")
    with time_machine.travel("2026-11-10 09:00Z", tick=False):
        assert moderation.send_held_notes() == 2
        assert moderation.send_held_notes() == 0
    notes = Message.objects.filter(tag="held-note")
    assert sorted(d.recipient for n in notes for d in n.deliveries.all()) == sorted(
        u.email for u in moderation.organizers())
    note = notes.first()
    assert note.subject == "2 held posts wait for review"
    assert "- Group 1: 1 held post" in note.body and "- Group 2: 1 held post" in note.body
    assert f"http://127.0.0.1:8000{queue_url(cohort)}" in note.body
    with time_machine.travel("2026-11-11 09:00Z", tick=False):
        assert moderation.send_held_notes() == 2


def test_a_groups_facilitators_are_told_instead_of_the_organizers(cohort, group, organizer, facilitator, monkeypatch):
    # Facilitators per group come from groups.access; this one facilitates group 1.
    monkeypatch.setattr(moderation, "facilitators_of", lambda g: [facilitator] if g.pk == group.pk else [])
    facilitator.email = "fabian@course.example.org"
    facilitator.save()
    spam_post(group)
    assert moderation.send_held_notes() == 1
    assert Delivery.objects.get(message__tag="held-note").recipient == "fabian@course.example.org"


def test_nobody_is_told_when_nothing_is_held(cohort, group, organizer):
    relay.receive(raw_post(to=group.address), "alice@example.org", [group.address])
    assert moderation.send_held_notes() == 0 and not Message.objects.filter(tag="held-note").exists()


def test_the_note_is_a_periodic_job():
    from mmooc.lib import periodic

    assert "lists.held_note" in [job.name for job in periodic.jobs()]


def test_an_approved_post_is_announced_as_relayed_once_committed(group, facilitator,
                                                                 django_capture_on_commit_callbacks):
    from mmooc.lists.signals import post_relayed

    told: list[int] = []

    def receiver(sender, post, **kw):
        told.append(post.pk)

    post = spam_post(group)
    post_relayed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert moderation.approve(Post.objects.select_related("group", "author").get(pk=post.pk), facilitator)
            assert told == []
        with django_capture_on_commit_callbacks(execute=True):
            assert not moderation.approve(post, facilitator)
    finally:
        post_relayed.disconnect(receiver)
    assert told == [post.pk]


def test_an_unusable_staff_address_does_not_keep_the_others_from_their_note(cohort, group, organizer):
    broken = testing.make_organizer("otto")
    broken.email = "otto at example"
    broken.save()
    spam_post(group)
    assert moderation.send_held_notes() == 1
    assert Delivery.objects.get(message__tag="held-note").recipient == organizer.email
    assert list(HeldNote.objects.values_list("user", flat=True)) == [organizer.pk]
