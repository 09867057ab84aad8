from __future__ import annotations

from email import message_from_bytes, policy

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mmooc import testing
from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership
from mmooc.learners.models import Learner
from mmooc.lists import relay
from mmooc.lists.models import Moderation, Notice, Post, Refusal
from mmooc.lists.tests.mail import multipart_post, raw_post
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Delivery, Message, with_message_id
from mmooc.testing import add_member, make_group

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]


def post_to(group, raw=None, sender="alice@example.org", **kw):
    raw = raw if raw is not None else raw_post(sender=sender, to=group.address, **kw)
    return relay.receive(raw, sender, [group.address])


@pytest.fixture
def small_limits(monkeypatch):
    """Posts over 2,000 bytes are held as too big, over 4,000 refused."""
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 4000)


def copies(group):
    """What each member would receive: the rendered bytes of every relayed copy, by address."""
    engine.drain()
    rows = Delivery.objects.filter(message__tag="relay", message__scope=Cohort.scope_for(group.cohort_id))
    return {d.recipient: message_from_bytes(bytes(d.stored), policy=policy.default) for d in rows}


def test_a_members_post_is_relayed_to_every_other_member(group):
    [outcome] = post_to(group)
    assert (outcome.action, outcome.reply) == (relay.RELAYED, "250 2.0.0 Sent to Group 1")
    assert sorted(copies(group)) == ["bob@example.org", "carol@example.org"]


def test_each_copy_has_the_list_headers_and_its_own_unsubscribe(group):
    post_to(group, subject="Week 1 questions", message_id="<q1@mail.example.org>")
    msg = copies(group)["bob@example.org"]
    assert msg["To"] == "bob@example.org"
    assert msg["From"].addresses[0].display_name == "Alice Smith via Group 1"
    assert msg["From"].addresses[0].addr_spec == group.address
    assert msg["Reply-To"].addresses[0].addr_spec == group.address
    assert msg["X-Original-From"] == "\"Alice Smith\" <alice@example.org>"
    assert msg["Subject"] == "[Group 1] Week 1 questions"
    assert msg["Message-ID"] == "<q1@mail.example.org>"
    assert msg.get_all("List-Id") == ["Group 1 <py-3-group-1.lists.course.example.org>"]
    assert msg["List-Post"] == f"<mailto:{group.address}>"
    assert msg["List-Archive"] == f"<http://127.0.0.1:8000/groups/{group.public_id}/>"
    assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Precedence"] == "list" and msg["X-Loop"] == group.address


@pytest.mark.parametrize("name, subject, message_id", [
    ("Alice Smith", "Hello group", "<a1@mail.example.org>"),
    ("A. Smith, Jr.", "Re: [Group 1] Re: notes", "<a2@mail.example.org>"),
    ("Zoë \"Ωmega\" Ng", "Übung 2 — Fragen", "<a3@mail.example.org>"),
])
def test_the_outbox_message_shows_the_copys_own_from_subject_and_message_id(group, name, subject, message_id):
    Learner.objects.filter(email="alice@example.org").update(name=name)
    post_to(group, subject=subject, message_id=message_id)
    message = Message.objects.get(tag="relay")
    parsed = message_from_bytes(bytes(message.raw), policy=policy.default)
    assert (message.from_email, message.subject) == (str(parsed["From"]), str(parsed["Subject"]))
    old_style = message_from_bytes(bytes(message.raw), policy=policy.compat32)
    # Kept once, by the message: its copies' rows keep none.
    assert message.rfc_message_id == old_style["Message-ID"].replace("\r\n", "").strip()
    assert {d.rfc_message_id for d in message.deliveries.all()} == {""}
    assert {d.header_message_id() for d in message.deliveries.all()} == {message.rfc_message_id}


def test_each_unsubscribe_link_leaves_the_group_for_that_member(group):
    from mmooc.learners.links import unsubscribe_target

    post_to(group)
    url = copies(group)["carol@example.org"]["List-Unsubscribe"].split(",")[0].strip("<>")
    learner, scope = unsubscribe_target(url.rstrip("/").rsplit("/", 1)[1])
    assert (learner.email, scope) == ("carol@example.org", "group")


def test_a_copys_row_keeps_no_context_its_leave_link_is_made_from_its_ref_when_sent(group):
    post_to(group)
    message = Message.objects.get(tag="relay")
    assert message.ref_values == relay.LEAVE_LINKS
    rows = {d.recipient: d for d in message.deliveries.all()}
    assert [d.context for d in rows.values()] == [{}, {}]
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT context FROM mailer_delivery WHERE message_id = %s", [message.pk])
        assert cursor.fetchall() == [("{}",)]
    carol = Learner.objects.get(email="carol@example.org")
    assert rows["carol@example.org"].ref == str(carol.public_id)
    header = copies(group)["carol@example.org"]["List-Unsubscribe"]
    assert header.split(",")[0] == f"<{relay._leave_group_url(carol.public_id, 'http://127.0.0.1:8000')}>"
    # What the outbox viewer and a learner's history show: the link as the copy had it.
    assert rows["carol@example.org"].full_context() == {
        "unsubscribe_url": relay._leave_group_url(carol.public_id, "http://127.0.0.1:8000")}


def test_a_post_queued_with_its_links_in_its_rows_is_sent_with_them(group):
    """Posts queued before the links were made when sent keep them in their rows."""
    members = relay.group_members(group)
    old = outbox.compose_raw(raw=raw_post(to=group.address), tag="relay", list_id="group-1.example.org",
                             recipients=relay.member_recipients(group, members=members))
    assert old.ref_values == ""
    assert "unsubscribe_url" in old.deliveries.get(recipient="bob@example.org").context
    engine.drain()
    sent = message_from_bytes(bytes(old.deliveries.get(recipient="bob@example.org").stored), policy=policy.default)
    bob = Learner.objects.get(email="bob@example.org")
    assert sent["List-Unsubscribe"].split(",")[0] == f"<{relay._leave_group_url(bob.public_id, 'http://127.0.0.1:8000')}>"


@pytest.mark.parametrize("ref", ["", "alice", "not-a-uuid-at-all-0000-000000000000"])
def test_a_copy_whose_ref_cannot_make_its_leave_link_is_refused_and_nothing_is_written(group, ref):
    before = Message.objects.count()
    with pytest.raises(outbox.OutboxError, match="needs a ref"):
        outbox.compose_raw(raw=raw_post(to=group.address), ref_values=relay.LEAVE_LINKS,
                           recipients=[outbox.Recipient("bob@example.org", {}, ref=ref)])
    assert Message.objects.count() == before and not Delivery.objects.exists()


def test_a_raw_message_naming_values_no_app_registered_is_refused(group):
    with pytest.raises(outbox.OutboxError, match="no values are registered as 'nope'"):
        outbox.compose_raw(raw=raw_post(to=group.address), ref_values="nope",
                           recipients=[outbox.Recipient("bob@example.org", {"unsubscribe_url": "https://x.example/u"})])
    assert not Message.objects.exists()


def test_a_post_with_a_message_id_of_the_longest_kept_is_relayed_and_found_by_it(group):
    long_id = f"<{'x' * 960}@mail.example.org>"
    [outcome] = post_to(group, message_id=long_id)
    assert outcome.action == relay.RELAYED, outcome.reply
    message = Message.objects.get(tag="relay")
    assert message.rfc_message_id == long_id
    assert copies(group)["bob@example.org"]["Message-ID"] == long_id
    assert sorted(Delivery.objects.filter(with_message_id(long_id)).values_list("recipient", flat=True)) == [
        "bob@example.org", "carol@example.org"]


def test_a_post_whose_message_id_header_is_longer_than_any_id_is_relayed(group):
    header = "<long@mail.example.org>" + "".join(f"\n (a comment {i:04} {'y' * 60})" for i in range(30))
    [outcome] = post_to(group, message_id=header)
    assert outcome.action == relay.RELAYED, outcome.reply
    message = Message.objects.get(tag="relay")
    assert message.rfc_message_id.startswith("<long@mail.example.org>") and len(message.rfc_message_id) == 998
    assert copies(group)["bob@example.org"]["Message-ID"].startswith("<long@mail.example.org>")


def test_copies_of_a_post_stored_before_its_message_kept_its_id_keep_it_in_their_rows(group):
    message = outbox.compose_raw(raw=raw_post(to=group.address, message_id="<old@mail.example.org>"))
    Message.objects.filter(pk=message.pk).update(rfc_message_id="")  # as stored before it was kept there
    message.refresh_from_db()
    outbox.enqueue(message, [outbox.Recipient("bob@example.org", {"unsubscribe_url": "https://x.example/u"})])
    row = message.deliveries.get()
    assert row.rfc_message_id == "<old@mail.example.org>" and row.header_message_id() == "<old@mail.example.org>"
    assert Delivery.objects.filter(with_message_id("old@mail.example.org")).get() == row


def test_the_post_is_stored_with_its_text_and_author(group):
    [outcome] = post_to(group, subject="Hello", body="Shall we meet?", message_id="<h1@x.org>")
    post = Post.objects.get(pk=outcome.post_id)
    assert (post.author.email, post.author_name, post.subject, post.message_id, post.thread_id) == (
        "alice@example.org", "Alice Smith", "Hello", "<h1@x.org>", "<h1@x.org>")
    assert post.text.strip() == "Shall we meet?"
    assert post.outbox_message.tag == "relay"


def test_a_reply_joins_the_thread_of_the_post_it_answers(group):
    post_to(group, message_id="<root@x.org>")
    post_to(group, sender="bob@example.org", message_id="<r1@x.org>", headers={"In-Reply-To": "<root@x.org>"})
    [outcome] = post_to(group, message_id="<r2@x.org>", headers={"In-Reply-To": "<r1@x.org>"})
    assert Post.objects.get(pk=outcome.post_id).thread_id == "<root@x.org>"


def test_attachments_and_both_parts_reach_the_members(group):
    post_to(group, raw=multipart_post(to=group.address))
    msg = copies(group)["carol@example.org"]
    types = [p.get_content_type() for p in msg.walk()]
    # The post as written, then the group's footer.
    assert types == ["multipart/mixed", "multipart/mixed", "multipart/alternative", "text/plain", "text/html",
                     "image/png", "text/plain"]


def test_the_same_message_id_is_relayed_once(group):
    raw = raw_post(to=group.address, message_id="<once@x.org>")
    first = relay.receive(raw, "alice@example.org", [group.address])
    second = relay.receive(raw, "alice@example.org", [group.address])
    assert [first[0].action, second[0].action] == [relay.RELAYED, relay.DUPLICATE]
    assert second[0].code == 250
    assert Post.objects.count() == 1 and Message.objects.filter(tag="relay").count() == 1


def test_a_post_is_stored_without_a_savepoint_a_hold_or_a_notify_of_its_own(group):
    """Its message, copies, post and count are written in the delivery's one transaction (a
    savepoint here, in the test's); nothing is asked twice: every statement is a round trip."""
    found = relay.find_group(group.address)  # as the LMTP server finds it at RCPT
    assert found.holds_first_posts is False
    with CaptureQueriesContext(connection) as queries:
        [outcome] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address],
                                  groups={group.address: found})
    assert outcome.action == relay.RELAYED
    statements = [q["sql"].upper() for q in queries.captured_queries]
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 1  # the delivery's own transaction
    assert not [s for s in statements if "FOR KEY SHARE" in s or s.startswith("NOTIFY") or "LISTS_MODERATION" in s]
    # Its savepoint and release, the members, the message, its copies, the post, the count
    # (PostgreSQL's COPY of the copies does not pass through the log of queries).
    assert len(statements) == (6 if connection.vendor == "postgresql" else 7)


def test_a_cohort_holding_first_posts_is_known_from_the_group_lookup(group):
    Moderation.objects.create(cohort=group.cohort, hold_first_post=True)
    found = relay.find_group(group.address)
    assert found.holds_first_posts is True
    [outcome] = relay.receive(raw_post(to=group.address), "alice@example.org", [group.address],
                              groups={group.address: found})
    assert (outcome.action, Post.objects.get().held_reason) == (relay.HELD, relay.FIRST_POST)


def test_digest_members_and_former_members_get_no_copy(group):
    add_member(group, "dora@example.org", delivery=Membership.DIGEST)
    gone = add_member(group, "gus@example.org")
    Membership.objects.filter(pk=gone.pk).update(left_at=timezone.now())
    post_to(group)
    assert sorted(copies(group)) == ["bob@example.org", "carol@example.org"]


def test_a_muted_member_still_receives(group):
    Membership.objects.filter(learner__email="carol@example.org").update(muted=True)
    post_to(group)
    assert "carol@example.org" in copies(group)


def test_a_member_is_recognized_whatever_the_case_of_the_address(group):
    [outcome] = post_to(group, sender="ALICE@Example.ORG")
    assert outcome.action == relay.RELAYED


def test_an_unknown_group_is_refused_with_550(group):
    [outcome] = relay.receive(raw_post(), "alice@example.org", ["nope@lists.course.example.org"])
    assert outcome.reply.startswith("550 5.1.1 ")
    assert not Post.objects.exists()


def test_a_non_member_is_not_relayed_and_gets_one_notice_a_day(group):
    add_member(make_group(group.cohort, 2), "mallory@example.org")  # a learner, not of this group
    with time_machine.travel("2026-11-02 10:00Z", tick=False):
        first = post_to(group, sender="mallory@example.org")
        second = post_to(group, sender="mallory@example.org")
    with time_machine.travel("2026-11-03 10:00Z", tick=False):
        third = post_to(group, sender="mallory@example.org")
    assert {o[0].action for o in (first, second, third)} == {relay.DROPPED}
    assert not Post.objects.exists()
    notices = Message.objects.filter(tag="list-notice")
    assert notices.count() == 2 and Notice.objects.count() == 2
    assert list(Refusal.objects.order_by("created_at").values_list("reason", "notified")) == [
        (Refusal.NON_MEMBER, True), (Refusal.NON_MEMBER, False), (Refusal.NON_MEMBER, True)]


def test_the_notice_is_an_auto_reply_that_says_why(group):
    add_member(make_group(group.cohort, 2), "mallory@example.org")  # a learner, not of this group
    post_to(group, sender="mallory@example.org", subject="Buy **now** [here](http://x)",
            message_id="<spam@x.org>")
    notice = Message.objects.get(tag="list-notice")
    assert notice.headers == {"Auto-Submitted": "auto-replied", "In-Reply-To": "<spam@x.org>",
                              "References": "<spam@x.org>"}
    assert notice.deliveries.get().recipient == "mallory@example.org"
    assert "only members of Group 1" in notice.body
    assert "[" not in notice.body and "*" not in notice.body


def test_a_muted_member_is_not_relayed_but_held(group):
    Membership.objects.filter(learner__email="alice@example.org").update(muted=True)
    [outcome] = post_to(group)
    assert (outcome.action, outcome.reply) == (relay.HELD, "250 2.0.0 Accepted and held for review")
    post = Post.objects.get()
    assert (post.held, post.held_reason, post.author.email) == (True, relay.MUTED_MEMBER, "alice@example.org")
    assert not Refusal.objects.exists() and not Delivery.objects.filter(message__tag="relay").exists()


def test_a_member_of_another_group_may_not_post(group):
    other = make_group(group.cohort, 2, members=["olga@example.org"])
    [outcome] = relay.receive(raw_post(sender="olga@example.org"), "olga@example.org", [group.address])
    assert outcome.action == relay.DROPPED and other.posts.count() == 0


def test_a_learner_who_left_the_cohort_may_not_post(group):
    Learner.objects.filter(email="alice@example.org").update(state=Learner.LEFT)
    assert post_to(group)[0].action == relay.DROPPED


@pytest.mark.parametrize("headers,reason", [
    ({"Auto-Submitted": "auto-replied"}, Refusal.AUTO_REPLY),
    ({"Precedence": "junk"}, Refusal.AUTO_REPLY),
    ({"Subject": "Out of office"}, Refusal.AUTO_REPLY),
    ({"X-Loop": "py-3-group-1@lists.course.example.org"}, Refusal.LOOP),
    ({"List-Id": "<py-3-group-1.lists.course.example.org>"}, Refusal.LOOP),
    ({"From": "MAILER-DAEMON@mx.example.org"}, Refusal.BOUNCE),
])
def test_automatic_mail_is_dropped_without_a_notice(group, headers, reason):
    [outcome] = post_to(group, headers=headers)
    assert (outcome.action, outcome.code) == (relay.DROPPED, 250)
    assert Refusal.objects.get().reason == reason
    assert not Post.objects.exists() and not Message.objects.exists()


def test_a_null_envelope_sender_is_a_bounce(group):
    [outcome] = relay.receive(raw_post(to=group.address), "", [group.address])
    assert outcome.action == relay.DROPPED and Refusal.objects.get().reason == Refusal.BOUNCE


def test_a_non_member_judged_spam_gets_no_notice(group):
    raw = raw_post(sender="mallory@example.org", to=group.address)
    [outcome] = relay.receive(raw, "mallory@example.org", [group.address], held_reason="Mailgun: spam")
    assert outcome.action == relay.DROPPED and not Message.objects.exists()
    assert Refusal.objects.get().notified is False


def test_a_non_member_auto_reply_gets_no_notice(group):
    post_to(group, sender="mallory@example.org", headers={"Auto-Submitted": "auto-replied"})
    assert not Message.objects.exists()


def test_a_post_over_the_ceiling_is_refused_with_552(group, small_limits):
    [outcome] = post_to(group, body="x" * 5000)
    assert outcome.code == 552 and "limited to" in outcome.text
    assert Refusal.objects.get().reason == Refusal.TOO_BIG
    assert not Post.objects.exists() and not Message.objects.exists()


def test_a_post_over_the_ceiling_by_webhook_gets_a_notice(group, small_limits):
    raw = raw_post(to=group.address, body="x" * 5000)
    relay.receive(raw, "alice@example.org", [group.address], notify_refused=True)
    notice = Message.objects.get(tag="list-notice")
    assert "larger than the" in notice.body and notice.subject == "Your message to Group 1 was not sent"
    assert Refusal.objects.get().reason == Refusal.TOO_BIG and not Post.objects.exists()


def test_a_defective_post_is_refused_with_501(group):
    raw = raw_post(to=group.address, headers={"Content-Type": 'multipart/mixed; boundary="b"'})
    [outcome] = relay.receive(raw, "alice@example.org", [group.address])
    assert outcome.reply.startswith("501 5.6.0 Message not sent to Group 1: its MIME structure is broken")
    refusal = Refusal.objects.get()
    assert refusal.reason == Refusal.DEFECTIVE
    assert refusal.detail.startswith("its MIME structure is broken")  # what was wrong, for staff, not the reply


@pytest.mark.parametrize("over", [0, 1])
def test_a_post_of_exactly_the_size_limit_is_relayed_and_one_byte_more_is_held(group, monkeypatch, over):
    raw = raw_post(to=group.address, body="x" * 3000)
    monkeypatch.setattr(relay, "MAX_POST_BYTES", len(raw) - over)
    [outcome] = post_to(group, raw)
    assert outcome.action == (relay.HELD if over else relay.RELAYED) and outcome.code == 250
    assert Post.objects.get().held_reason == (relay.TOO_BIG if over else "")
    assert not Refusal.objects.exists()


@pytest.mark.parametrize("over", [0, 1])
def test_a_post_of_exactly_the_ceiling_is_held_and_one_byte_more_is_refused(group, monkeypatch, over):
    raw = raw_post(to=group.address, body="x" * 3000)
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 1000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", len(raw) - over)
    [outcome] = post_to(group, raw)
    assert (outcome.action, outcome.code) == ((relay.REFUSED, 552) if over else (relay.HELD, 250))
    assert list(Post.objects.values_list("held_reason", flat=True)) == ([] if over else [relay.TOO_BIG])
    assert list(Refusal.objects.values_list("reason", flat=True)) == ([Refusal.TOO_BIG] if over else [])
    if over:  # without a detail of its own, the refusal keeps the reply's text for staff
        assert Refusal.objects.get().detail.startswith("Message too big for Group 1: posts are limited to")


def test_a_post_without_message_id_is_refused_with_550(group):
    [outcome] = post_to(group, message_id="")
    assert outcome.reply == "550 5.6.0 Message not sent to Group 1: it has no Message-ID header"


def test_a_spam_verdict_holds_the_post(group):
    raw = raw_post(to=group.address)
    [outcome] = relay.receive(raw, "alice@example.org", [group.address], held_reason="Mailgun: spam")
    post = Post.objects.get()
    assert (outcome.action, post.held, post.held_reason, post.outbox_message) == (
        relay.HELD, True, "Mailgun: spam", None)
    assert not Message.objects.exists()


def test_one_reply_per_recipient_in_order(group):
    # The same person in another cohort's group: one message, two groups.
    other = make_group(testing.make_cohort(), 1, members=["alice@example.org", "zed@example.org"])
    raw = raw_post(to=group.address)
    outcomes = relay.receive(raw, "alice@example.org", [group.address, "x@lists.course.example.org",
                                                         other.address])
    assert [o.code for o in outcomes] == [250, 550, 250]
    assert [o.recipient for o in outcomes] == [group.address, "x@lists.course.example.org", other.address]


def test_a_database_failure_answers_451_and_stores_nothing(group, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    # Fails between the copy's message and its rows: neither may be left behind.
    monkeypatch.setattr(outbox, "_write_new", broken)
    [outcome] = post_to(group)
    assert outcome.reply.startswith("451 4.3.0 ")
    assert not Post.objects.exists()
    assert not Message.objects.filter(tag="relay").exists()


def test_a_bounce_to_our_return_path_goes_to_bounce_handling(group, monkeypatch):
    seen = []
    monkeypatch.setattr(relay, "_handle_bounce", lambda raw, rcpt, strict=True: seen.append(rcpt))
    address = "bounces+1f-0123456789abcdef@lists.course.example.org"
    [outcome] = relay.receive(b"From: MAILER-DAEMON@x\r\n\r\nfailed", "", [address])
    assert (outcome.action, outcome.code, seen) == (relay.BOUNCE, 250, [address])
    assert not Refusal.objects.exists()


def test_a_mail_to_a_list_unsubscribe_address_goes_to_the_mailer(group, monkeypatch):
    seen = []
    monkeypatch.setattr(relay.bounces, "handle_unsubscribe", lambda raw, rcpt: seen.append(rcpt))
    address = "unsubscribe+1f-0123456789abcdef@lists.course.example.org"
    [outcome] = relay.receive(raw_post(), "bob@example.org", [address])
    assert (outcome.action, outcome.code, seen) == (relay.UNSUBSCRIBE, 250, [address])


def test_a_group_address_never_gets_a_copy(group):
    add_member(group, "py-3-group-2@lists.course.example.org")
    post_to(group)
    assert "py-3-group-2@lists.course.example.org" not in copies(group)


def test_it_relays_to_the_group_the_door_already_found(group, monkeypatch):
    def no_lookup(address):
        raise AssertionError("looked the group up again")

    monkeypatch.setattr(relay, "find_group", no_lookup)
    raw = raw_post(to=group.address)
    [outcome] = relay.receive(raw, "alice@example.org", [group.address], groups={group.address: group})
    assert outcome.action == relay.RELAYED


def test_it_leaves_no_copies_behind_for_a_repeated_post(group):
    raw = raw_post(to=group.address, message_id="<again@x.org>")
    relay.receive(raw, "alice@example.org", [group.address])
    relay.receive(raw, "alice@example.org", [group.address])
    assert Delivery.objects.filter(message__tag="relay").count() == 2
    assert Post.objects.get().outbox_message.deliveries.count() == 2


def test_it_takes_the_author_from_the_member_rows(group):
    [outcome] = post_to(group)
    post = Post.objects.get(pk=outcome.post_id)
    assert (post.author.email, post.author_name) == ("alice@example.org", "Alice Smith")
    assert post.author.state == Learner.CONFIRMED


def test_it_loads_the_rest_of_a_members_learner_when_read(group):
    [alice] = [m for m in relay.group_members(group) if m.email == "alice@example.org"]
    learner = alice.as_learner()
    assert (learner.pk, learner.name) == (alice.learner_id, "Alice Smith")
    assert learner.state == Learner.CONFIRMED


def test_relayed_and_refused_posts_are_counted_for_the_metrics(group):
    from mmooc.operations import counters

    post_to(group)
    post_to(group, sender="stranger@example.org")
    relay.receive(raw_post(to="py-3-group-99@lists.course.example.org"), "alice@example.org",
                  ["py-3-group-99@lists.course.example.org"])
    assert counters.totals() == {("posts", "relayed"): 1, ("posts", "held"): 1,  # held: an unknown sender
                                 ("posts_refused", "unknown-address"): 1}


@pytest.mark.parametrize("size, code", [(3000, 250), (5000, 552)])  # held, refused
def test_an_oversized_post_from_another_list_by_webhook_gets_no_notice(group, small_limits, size, code):
    raw = raw_post(to=group.address, body="x" * size, headers={"List-Id": "Python help <help.python.org>"})
    [outcome] = relay.receive(raw, "alice@example.org", [group.address], notify_refused=True)
    assert outcome.code == code
    if code == 250:
        assert Post.objects.get().held_reason == relay.TOO_BIG and not Refusal.objects.exists()
        assert not Message.objects.exists() and not Notice.objects.exists()
        return
    assert (Refusal.objects.get().reason, Refusal.objects.get().notified) == (Refusal.TOO_BIG, False)
    assert not Message.objects.exists() and not Notice.objects.exists()


def test_a_defective_post_from_another_list_by_webhook_gets_no_notice(group):
    raw = raw_post(to=group.address, headers={"Content-Type": 'multipart/mixed; boundary="b"',
                                              "List-Id": "<announce.example.net>"})
    [outcome] = relay.receive(raw, "alice@example.org", [group.address], notify_refused=True)
    assert outcome.code == 501 and Refusal.objects.get().notified is False
    assert not Message.objects.exists() and not Notice.objects.exists()


def test_a_non_member_post_from_another_list_gets_no_notice(group):
    [outcome] = post_to(group, sender="news@lists.example.net", headers={"List-Id": "News <news.example.net>"})
    assert outcome.action == relay.DROPPED
    assert (Refusal.objects.get().reason, Refusal.objects.get().notified) == (Refusal.NON_MEMBER, False)
    assert not Message.objects.exists() and not Notice.objects.exists()


@pytest.mark.parametrize("sender", ["py-3-group-2@lists.course.example.org", "Py-3-Group-2@Lists.Course.Example.ORG"])
def test_a_sender_on_our_own_list_domain_gets_no_notice(group, sender):
    [outcome] = post_to(group, sender=sender)
    assert outcome.action == relay.DROPPED
    assert (Refusal.objects.get().reason, Refusal.objects.get().notified) == (Refusal.NON_MEMBER, False)
    assert not Message.objects.exists() and not Notice.objects.exists()


def test_an_oversized_post_from_our_own_list_domain_by_webhook_gets_no_notice(group, small_limits):
    sender = "py-3-group-2@lists.course.example.org"
    raw = raw_post(sender=sender, to=group.address, body="x" * 5000)
    relay.receive(raw, sender, [group.address], notify_refused=True)
    assert Refusal.objects.get().notified is False
    assert not Message.objects.exists() and not Notice.objects.exists()


@pytest.mark.parametrize("state", [Learner.LEFT, Learner.ERASED])
def test_a_learner_who_left_the_cohort_gets_no_copies_though_still_a_member(group, state):
    Learner.objects.filter(email="carol@example.org").update(state=state)
    assert Membership.objects.filter(learner__email="carol@example.org", left_at__isnull=True).exists()
    post_to(group)
    assert sorted(copies(group)) == ["bob@example.org"]


def test_a_muted_member_is_told_that_their_post_waits_for_the_course_team(group):
    Membership.objects.filter(learner__email="alice@example.org").update(muted=True)
    [outcome] = post_to(group, subject="Hello again", message_id="<muted-1@mail.example.org>")
    assert outcome.action == relay.HELD and Post.objects.get().held
    assert not Delivery.objects.filter(message__tag="relay").exists()
    notice = Message.objects.get(tag="list-notice")
    assert notice.subject == "Your message to {{ group_name }} is waiting for the course team"
    assert "posting to {{ group_name }} is paused for your address" in notice.body
    assert notice.headers["Auto-Submitted"] == "auto-replied"
    assert notice.headers["In-Reply-To"] == "<muted-1@mail.example.org>"
    delivery = notice.deliveries.get()
    assert delivery.recipient == "alice@example.org" and delivery.context["group_name"] == "Group 1"


def test_a_notice_goes_to_the_envelope_sender(group):
    raw = raw_post(sender="mallory@example.org", to=group.address)
    relay.receive(raw, "m.bounces@example.net", [group.address])
    assert Message.objects.get(tag="list-notice").deliveries.get().recipient == "m.bounces@example.net"


def test_a_refusal_without_a_from_header_names_the_envelope_sender(group):
    raw = raw_post(sender="mallory@example.org", to=group.address, headers={"From": None, "Return-Path": None})
    relay.receive(raw, "mallory@example.org", [group.address])
    refusal = Refusal.objects.get()
    assert (refusal.reason, refusal.sender) == (Refusal.NON_MEMBER, "mallory@example.org")


@pytest.mark.parametrize("size", [3000, 5000])  # held, refused
@pytest.mark.parametrize("envelope_sender, headers", [
    ("", {}),
    ("mailer-daemon@mx.example.org", {"From": "MAILER-DAEMON@mx.example.org"}),
])
def test_an_oversized_bounce_by_webhook_gets_no_notice(group, small_limits, envelope_sender, headers, size):
    raw = raw_post(to=group.address, body="x" * size, headers=headers)
    relay.receive(raw, envelope_sender, [group.address], notify_refused=True)
    assert Refusal.objects.get().notified is False
    assert not Message.objects.exists() and not Notice.objects.exists()


def test_a_post_without_message_id_by_webhook_is_refused_without_a_notice(group):
    raw = raw_post(sender="mallory@example.org", to=group.address, message_id="")
    [outcome] = relay.receive(raw, "mallory@example.org", [group.address], notify_refused=True)
    assert outcome.code == 550 and Refusal.objects.get().reason == Refusal.NO_MESSAGE_ID
    assert not Message.objects.exists() and not Notice.objects.exists()


def test_a_refused_post_whose_headers_cannot_be_read_gets_no_notice(group, monkeypatch):
    from mmooc.lists import inbound

    def unreadable(*args):
        raise ValueError("a header the parser cannot read")

    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 2000)
    monkeypatch.setattr(inbound, "auto_reply_reason", unreadable)
    raw = raw_post(sender="mallory@example.org", to=group.address, body="x" * 3000)
    [outcome] = relay.receive(raw, "mallory@example.org", [group.address], notify_refused=True)
    assert outcome.code == 552 and Refusal.objects.get().notified is False
    assert not Message.objects.exists() and not Notice.objects.exists()


def test_a_member_read_in_the_posts_query_is_the_learner_it_names(group):
    (alice,) = [m for m in relay.group_members(group) if m.email == "alice@example.org"]
    learner = alice.as_learner()
    stored = Learner.objects.get(pk=alice.learner_id)
    assert (learner.pk, learner.public_id, learner.email, learner.email_key, learner.name) == (
        stored.pk, stored.public_id, stored.email, stored.email_key, stored.name)
