"""Too-big posts and muted members' posts in the moderation queue: held on arrival, shown with their
kind, approved (relayed as they are), rejected, counted in the daily note and the audit log."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership
from mmooc.learners.models import Learner
from mmooc.lists import moderation, relay
from mmooc.lists.models import Notice, Post, Refusal
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import facilitate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]


@pytest.fixture
def small_limits(monkeypatch):
    """Posts over 2,000 bytes are held as too big, over 4,000 refused."""
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 4000)


def mute(address: str = "alice@example.org") -> None:
    Membership.objects.filter(learner__email=address).update(muted=True)


def post(group, sender="alice@example.org", **kw) -> relay.Outcome:
    [outcome] = relay.receive(raw_post(sender=sender, to=group.address, **kw), sender, [group.address])
    return outcome


def big_post(group, **kw) -> Post:
    outcome = post(group, body="x" * 3000, **kw)
    assert outcome.action == relay.HELD
    return Post.objects.get(pk=outcome.post_id)


def muted_post(group, **kw) -> Post:
    mute()
    outcome = post(group, **kw)
    assert outcome.action == relay.HELD
    return Post.objects.get(pk=outcome.post_id)


def queue_url(cohort) -> str:
    return f"/dashboard/cohorts/{cohort.slug}/moderation/"


def decide(client, cohort, held: Post, action: str, note: str = ""):
    return client.post(queue_url(cohort) + "decide/", {"post": held.pk, "action": action, "note": note})


def relayed_to(group) -> dict[str, object]:
    engine.drain()
    rows = Delivery.objects.filter(message__tag="relay", message__scope=Cohort.scope_for(group.cohort_id))
    return {d.recipient: message_from_bytes(bytes(d.stored), policy=policy.default) for d in rows}


# Kinds --------------------------------------------------------------------------------------


def test_each_hold_has_its_own_kind(group, small_limits):
    assert moderation.kind_of(big_post(group)) == moderation.TOO_BIG
    Post.objects.all().delete()
    assert moderation.kind_of(muted_post(group)) == moderation.MUTED


def test_a_muted_members_post_over_the_limit_is_held_as_muted(group, small_limits):
    mute()
    held = big_post(group)
    assert held.held_reason == relay.MUTED_MEMBER


def test_a_spam_verdict_wins_and_nobody_is_told(group, small_limits):
    mute()
    raw = raw_post(to=group.address, body="x" * 3000)
    [outcome] = relay.receive(raw, "alice@example.org", [group.address], held_reason="Mailgun judged it spam")
    assert outcome.action == relay.HELD
    assert moderation.kind_of(Post.objects.get()) == moderation.SPAM
    assert not Message.objects.exists() and not Notice.objects.exists()


def test_a_too_big_post_is_held_even_when_the_cohort_holds_first_posts(group, small_limits):
    from mmooc.lists.models import Moderation

    Moderation.objects.create(cohort=group.cohort, hold_first_post=True)
    assert big_post(group).held_reason == relay.TOO_BIG


def test_a_non_members_post_over_the_limit_is_not_held_for_a_claim(group, small_limits):
    # A claimed address relays its held posts without staff: a too-big one must not go that way.
    outcome = post(group, sender="alice.home@example.net", body="x" * 3000)
    assert outcome.action == relay.DROPPED and not Post.objects.exists()
    assert Refusal.objects.get().reason == Refusal.NON_MEMBER


def test_a_too_big_post_repeated_is_held_once_and_told_once(group, small_limits):
    raw = raw_post(to=group.address, body="x" * 3000, message_id="<big-again@mail.example.org>")
    relay.receive(raw, "alice@example.org", [group.address])
    [again] = relay.receive(raw, "alice@example.org", [group.address])
    assert again.action == relay.DUPLICATE
    assert Post.objects.count() == 1 and Message.objects.filter(tag="list-notice").count() == 1


def test_a_muted_members_check_in_is_held_not_recorded(group):
    from mmooc.checkins.models import CheckIn

    held = muted_post(group, body="DONE 3")
    assert held.held and not CheckIn.objects.exists()


# The notice ---------------------------------------------------------------------------------


def test_the_too_big_notice_says_the_size_and_the_limit(group, small_limits):
    held = big_post(group, subject="Photos", message_id="<photos@mail.example.org>")
    notice = Message.objects.get(tag="list-notice")
    delivery = notice.deliveries.get()
    assert delivery.recipient == "alice@example.org"
    assert "at {{ size }} it is larger than the {{ limit }} a group post may be" in notice.body
    assert delivery.context["limit"] == relay.max_post_mb()
    assert delivery.context["size"] == f"{held.size / (1024 * 1024):.1f} MB"
    assert delivery.context["subject"] == "Photos"
    assert notice.headers["In-Reply-To"] == "<photos@mail.example.org>"
    assert notice.headers["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize("language, subject", [
    ("es", "Tu mensaje a {{ group_name }} espera al equipo del curso"),
    ("pt-br", "Sua mensagem para {{ group_name }} aguarda a equipe do curso"),
    ("ar", "رسالتك إلى {{ group_name }} بانتظار فريق الدورة"),
])
def test_the_notice_speaks_the_members_language(group, small_limits, language, subject):
    Learner.objects.filter(email="alice@example.org").update(language=language)
    big_post(group)
    notice = Message.objects.get(tag="list-notice")
    assert notice.subject == subject
    assert notice.headers["Content-Language"] == language


def test_no_notice_goes_to_an_address_of_ours(group, small_limits):
    from mmooc.testing import add_member

    add_member(group, "helper@lists.course.example.org")
    outcome = post(group, sender="helper@lists.course.example.org", body="x" * 3000)
    assert outcome.action == relay.HELD and not Message.objects.exists()


def test_the_notice_counts_against_the_same_daily_limit_as_refusal_notices(group, small_limits):
    post(group, sender="mallory@example.org", body="x" * 5000)  # refused at the ceiling: no notice by LMTP
    relay.receive(raw_post(sender="alice@example.org", to=group.address, body="x" * 5000), "alice@example.org",
                  [group.address], notify_refused=True)  # refused by webhook: a notice
    big_post(group)
    assert Message.objects.filter(tag="list-notice").count() == 1
    assert Notice.objects.filter(address="alice@example.org").count() == 1


def test_hostile_subjects_reach_the_notice_as_plain_words(group, small_limits):
    big_post(group, subject="{{ learner.email }} [click](http://evil.example) <b>")
    context = Delivery.objects.get(message__tag="list-notice").context
    assert "{" not in context["subject"] and "[" not in context["subject"] and "<" not in context["subject"]


# The queue page -----------------------------------------------------------------------------


def test_the_queue_shows_each_kind_and_a_too_big_posts_size_and_the_limit(client, facilitator, cohort, group,
                                                                          small_limits):
    big = big_post(group, subject="Whiteboard photos")
    Post.objects.filter(pk=big.pk).update(size=12 * 1024 * 1024)
    muted = muted_post(group, subject="Muted hello")
    client.force_login(facilitate(facilitator, group))
    html = client.get(queue_url(cohort)).content.decode()
    assert f'<tr data-post="{big.pk}">' in html and f'<tr data-post="{muted.pk}">' in html
    assert '<td data-kind="too-big">Too big<br><span class="muted small">12.0\xa0MB; the limit is 2.0\xa0KB' in html
    assert '<td data-kind="muted">Muted member<br>' in html
    assert "the member stays muted" in html


# Decisions ----------------------------------------------------------------------------------


def test_approving_a_too_big_post_relays_it_as_it_is_and_is_audited(client, facilitator, cohort, group,
                                                                    small_limits):
    held = big_post(group, subject="Whiteboard photos")
    client.force_login(facilitate(facilitator, group))
    assert decide(client, cohort, held, "approve").status_code == 302
    got = relayed_to(group)
    assert sorted(got) == ["bob@example.org", "carol@example.org"]
    assert "x" * 3000 in got["bob@example.org"].get_body(preferencelist=("plain",)).get_content()
    assert str(got["bob@example.org"]["Subject"]) == "[Group 1] Whiteboard photos"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["kind"], entry.details["held_reason"]) == (
        "post.approved", "too-big", relay.TOO_BIG)
    assert entry.details["size"] == held.size and "(held: too big)" in entry.summary


def test_approving_a_muted_members_post_relays_it_and_keeps_them_muted(client, facilitator, cohort, group):
    held = muted_post(group, subject="Sorry about before")
    client.force_login(facilitate(facilitator, group))
    decide(client, cohort, held, "approve")
    assert sorted(relayed_to(group)) == ["bob@example.org", "carol@example.org"]
    assert Membership.objects.get(learner__email="alice@example.org").muted
    entry = AuditEntry.objects.get()
    assert (entry.details["kind"], "(held: muted member)" in entry.summary) == ("muted", True)
    # Their next post waits again.
    assert post(group).action == relay.HELD


def test_release_from_spam_is_refused_for_too_big_and_muted_posts(client, facilitator, cohort, group, small_limits):
    held = big_post(group)
    client.force_login(facilitate(facilitator, group))
    assert decide(client, cohort, held, "release").status_code == 400
    assert Post.objects.get().held and not AuditEntry.objects.exists()


@pytest.mark.parametrize("make", [big_post, muted_post])
def test_rejecting_tells_the_sender_with_the_note_and_is_audited(client, facilitator, cohort, group, small_limits,
                                                                 make):
    held = make(group)
    client.force_login(facilitate(facilitator, group))
    decide(client, cohort, held, "reject", note="Please share it as a link.")
    assert not Post.objects.exists() and not Delivery.objects.filter(message__tag="relay").exists()
    note = Message.objects.get(tag="list-rejection")
    assert note.deliveries.get().recipient == "alice@example.org"
    assert "> Please share it as a link." in note.body
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["kind"], entry.details["sender_told"]) == (
        "post.rejected", moderation.kind_of(held), True)


# The daily note -----------------------------------------------------------------------------


def test_the_daily_note_counts_each_kind(cohort, group, organizer, small_limits):
    big_post(group)
    big_post(group)
    muted_post(group)
    assert moderation.send_held_notes() == 1
    note = Message.objects.get(tag="held-note")
    assert "- Group 1: 3 held posts (too big: 2, muted member: 1), the oldest received" in note.body
