""""This is also me": posts from unknown addresses held over real LMTP, claimed by a member's
known address (link or code), released once; later posts from the alias relayed."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from mmooc import testing
from mmooc.learners import lifecycle, links
from mmooc.learners.models import Learner, LearnerAlias, LearnerEvent
from mmooc.learners.tests.helpers import path_of
from mmooc.lists import aliases, lmtp
from mmooc.lists.models import Notice, Post, Refusal
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery, Message
from mmooc.operations import ratelimits
from mmooc.testing import add_member, make_group

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("outbox_mode")]

HOME = "alice.home@example.net"


@pytest.fixture
def lmtp_server():
    server = lmtp.start("127.0.0.1", testing.free_port())
    yield server
    server.stop()


@pytest.fixture
def deliver(lmtp_server, group):
    """One message over a real LMTP connection to the group; the reply's code."""
    def send(raw: bytes, sender: str = HOME) -> int:
        with smtplib.LMTP(lmtp_server.host, lmtp_server.port, timeout=30) as conn:
            try:
                conn.sendmail(sender, [group.address], raw)
            except smtplib.SMTPDataError as exc:
                return exc.smtp_code
        return 250
    return send


@pytest.fixture
def alice(group):
    return Learner.objects.get(email_key="alice@example.org")


def from_home(group, **kw) -> bytes:
    return raw_post(sender=HOME, to=group.address, name="Alice at home", **kw)


def texts(tag: str, to: str) -> list[str]:
    """The text parts of the mail with `tag` sent to `to`, as the engine rendered them."""
    engine.drain()
    rows = Delivery.objects.filter(message__tag=tag, recipient=to)
    return [message_from_bytes(bytes(d.stored), policy=policy.default).get_body(("plain",)).get_content()
            for d in rows]


def link_in(text: str, kind: str) -> str:
    match = re.search(rf"https?://[^\s)>\]]*/groups/{kind}/[^\s)>\]]+", text)
    assert match, text
    return path_of(match.group(0))


def relayed_to() -> list[str]:
    engine.drain()
    return sorted(Delivery.objects.filter(message__tag="relay").values_list("recipient", flat=True))


def held_and_claimed(client, group, deliver) -> str:
    """Alice writes from her other address; the path of the link in the notice she gets there."""
    assert deliver(from_home(group, subject="From my other account")) == 250
    [notice] = texts("list-notice", HOME)
    return link_in(notice, "also-me")


def ask_code(client, path: str, typed: str = "alice@example.org") -> str:
    """Type the member address on the notice's page; the page's pending token."""
    response = client.post(path, {"email": typed})
    assert response.status_code == 200
    assert f"If {typed} belongs to a member of Group 1" in response.content.decode()
    return re.search(r'name="pending" value="([^"]+)"', response.content.decode()).group(1)


def code_sent(to: str = "alice@example.org") -> str:
    [text] = texts("alias-code", to)
    return re.search(r"\*\*(\d{6})\*\*|(\d{6})", text).group(0).strip("*")


# Holding ------------------------------------------------------------------------------


def test_a_post_from_an_unknown_address_is_held_and_its_sender_told_once(group, deliver):
    assert deliver(from_home(group)) == 250
    assert deliver(from_home(group, subject="Again")) == 250
    assert list(Post.objects.values_list("held", "held_reason", "author")) == [
        (True, aliases.UNKNOWN_SENDER, None)] * 2
    assert relayed_to() == []
    [notice] = texts("list-notice", HOME)  # one a day
    assert "/groups/also-me/" in notice and "This is also me" in notice
    assert "alice@example.org" not in notice  # never says whose address it might be
    assert Message.objects.get(tag="list-notice").headers["Auto-Submitted"] == "auto-replied"
    assert Refusal.objects.filter(reason=Refusal.NON_MEMBER, notified=True).count() == 1


def test_a_spanish_group_and_member_read_the_notice_the_page_and_the_code_in_spanish(client, group, deliver, alice):
    type(group).objects.filter(pk=group.pk).update(language="es")
    Learner.objects.filter(pk=alice.pk).update(language="es")
    path = held_and_claimed(client, group, deliver)
    notice = Message.objects.get(tag="list-notice")
    assert notice.subject == "Tu mensaje a {{ group_name }} está en espera"
    assert notice.headers["Content-Language"] == "es"
    [text] = texts("list-notice", HOME)
    assert "todavía no se ha enviado al grupo" in text and "Esta dirección también es mía" in text
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Si formas parte del grupo y escribes desde otra dirección" in page
    response = client.post(path, {"email": "alice@example.org"}, HTTP_ACCEPT_LANGUAGE="es")
    assert "Si alice@example.org es de alguien de Group 1" in response.content.decode()
    assert Message.objects.get(tag="alias-code").subject == "¿La dirección {{ address }} también es tuya?"
    [code] = texts("alias-code", "alice@example.org")
    assert code.startswith("Hola Alice:") and "Sí, esa dirección también es mía" in code
    page = client.get(link_in(code, "also-me/yes")).content.decode()  # in her language, whatever the browser's
    assert "Sí, esta dirección también es mía" in page


@pytest.mark.parametrize("sender, headers", [
    (HOME, {"Auto-Submitted": "auto-replied"}),
    (HOME, {"Subject": "Out of office: back Monday"}),
    (HOME, {"List-Id": "Other list <other.example.net>"}),
    ("", {}),
])
def test_auto_replies_list_mail_and_bounces_are_neither_held_nor_answered(group, deliver, sender, headers):
    assert deliver(raw_post(sender=HOME, to=group.address, headers=headers), sender=sender) == 250
    assert not Post.objects.exists() and not Message.objects.exists()


def test_another_learners_address_is_refused_as_before_not_held(group, deliver, cohort):
    other = make_group(cohort, 2)
    add_member(other, "dora@example.org", name="Dora")
    assert deliver(raw_post(sender="dora@example.org", to=group.address), sender="dora@example.org") == 250
    assert not Post.objects.exists()
    assert Refusal.objects.get().reason == Refusal.NON_MEMBER


# Claiming by the link sent to the member's address ------------------------------------


def test_the_link_route_adds_the_alias_and_releases_the_post_once(client, group, deliver, alice):
    path = held_and_claimed(client, group, deliver)
    page = client.get(path)
    assert page.status_code == 200 and f"Is {HOME} also you?" in page.content.decode()
    ask_code(client, path)
    assert texts("alias-code", HOME) == []  # nothing to the address being claimed
    [mail] = texts("alias-code", "alice@example.org")
    confirm = link_in(mail, "also-me/yes")
    assert client.get(confirm).status_code == 200
    assert not LearnerAlias.objects.exists() and relayed_to() == []  # opening a link changes nothing
    response = client.post(confirm)
    assert response.status_code == 200 and "is also you" in response.content.decode()
    alias = LearnerAlias.objects.get()
    assert (alias.learner_id, alias.address_key, alias.confirmed_at is not None) == (alice.pk, HOME, True)
    assert LearnerEvent.objects.filter(learner=alice, kind=LearnerEvent.ALIAS_ADDED).count() == 1
    assert relayed_to() == ["bob@example.org", "carol@example.org"]
    post = Post.objects.get()
    assert (post.held, post.author_id) == (False, alice.pk)
    copy = Delivery.objects.filter(message__tag="relay").first()
    shown = message_from_bytes(bytes(copy.stored), policy=policy.default)
    assert shown["From"].addresses[0].addr_spec == group.address  # DMARC: From rewritten
    assert "Alice Smith" in str(shown["From"])
    assert client.post(confirm).status_code == 200  # pressed twice: sent once
    assert relayed_to() == ["bob@example.org", "carol@example.org"]


def test_later_posts_from_the_alias_are_relayed_and_removing_it_holds_them_again(client, group, deliver, alice):
    lifecycle.add_alias(alice, HOME)
    assert deliver(from_home(group)) == 250
    assert relayed_to() == ["bob@example.org", "carol@example.org"]
    assert Post.objects.get().author_id == alice.pk
    page = path_of(links.learner_page_url(alice))
    assert HOME in client.get(page).content.decode()
    alias = LearnerAlias.objects.get()
    assert client.get(f"{page}/addresses/{alias.public_id}/remove").status_code == 405
    assert client.post(f"{page}/addresses/{alias.public_id}/remove").status_code == 302
    assert not LearnerAlias.objects.exists()
    assert LearnerEvent.objects.filter(learner=alice, kind=LearnerEvent.ALIAS_REMOVED).exists()
    assert deliver(from_home(group, subject="After removal")) == 250
    assert Post.objects.get(subject="After removal").held
    assert len(relayed_to()) == 2


# Claiming by the code ----------------------------------------------------------------


def test_the_code_route_refuses_a_wrong_code_then_takes_the_right_one(client, group, deliver, alice):
    path = held_and_claimed(client, group, deliver)
    pending = ask_code(client, path)
    code = code_sent()
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(path, {"pending": pending, "code": wrong})
    assert response.status_code == 400 and "not right" in response.content.decode()
    assert not LearnerAlias.objects.exists() and relayed_to() == []
    response = client.post(path, {"pending": pending, "code": f" {code} "})
    assert response.status_code == 200 and "is also you" in response.content.decode()
    assert LearnerAlias.objects.get().learner_id == alice.pk
    assert relayed_to() == ["bob@example.org", "carol@example.org"]


def test_an_expired_code_does_nothing(client, group, deliver, time_machine):
    path = held_and_claimed(client, group, deliver)
    time_machine.move_to(timezone.now())
    pending = ask_code(client, path)
    code = code_sent()
    time_machine.move_to(timezone.now() + aliases.CODE_MAX_AGE + timedelta(minutes=1))
    assert client.post(path, {"pending": pending, "code": code}).status_code == 404
    assert not LearnerAlias.objects.exists() and Post.objects.get().held


def test_too_many_wrong_codes_lock_the_code(client, group, deliver):
    path = held_and_claimed(client, group, deliver)
    pending = ask_code(client, path)
    code = code_sent()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(aliases.CODE_TRIES):
        assert client.post(path, {"pending": pending, "code": wrong}).status_code == 400
    assert client.post(path, {"pending": pending, "code": code}).status_code == 429
    assert not LearnerAlias.objects.exists()


@pytest.mark.parametrize("typed", ["nobody@example.org", "dora@example.org"])
def test_an_address_of_no_member_of_the_group_gets_the_same_answer_and_no_mail(client, group, deliver,
                                                                               cohort, typed):
    add_member(make_group(cohort, 2), "dora@example.org", name="Dora")  # in another group
    path = held_and_claimed(client, group, deliver)
    pending = ask_code(client, path, typed)
    assert not Message.objects.filter(tag="alias-code").exists()
    for guess in ("000000", "123456"):
        assert client.post(path, {"pending": pending, "code": guess}).status_code == 400
    assert not LearnerAlias.objects.exists()


def test_tampered_and_foreign_tokens_change_nothing(client, group, deliver):
    path = held_and_claimed(client, group, deliver)
    pending = ask_code(client, path)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 404
    assert client.post(path, {"pending": pending[:-2] + "xx", "code": code_sent()}).status_code == 404
    [mail] = texts("alias-code", "alice@example.org")
    confirm = link_in(mail, "also-me/yes")
    assert client.post(confirm.replace("/also-me/yes/", "/also-me/")).status_code == 404  # other purpose
    assert client.get("/groups/also-me/" + "A" * 5000).status_code == 404
    assert not LearnerAlias.objects.exists() and Post.objects.get().held


def test_an_address_that_became_another_learners_is_refused(client, group, deliver, cohort):
    path = held_and_claimed(client, group, deliver)
    [mail_before] = texts("list-notice", HOME)
    pending = ask_code(client, path)
    testing.make_learner(cohort, HOME)  # the address signs up meanwhile
    response = client.post(path, {"pending": pending, "code": code_sent()})
    assert response.status_code == 400 and "another learner" in response.content.decode()
    assert not LearnerAlias.objects.exists() and Post.objects.get().held and mail_before


@pytest.mark.parametrize("data", [
    {"email": "x" * 300 + "@example.org"},
    {"email": "not an address"},
    {"email": ""},
    {"pending": "x", "code": "12ab56"},
    {"pending": "x" * 3000, "code": "123456"},
])
def test_hostile_form_input_is_refused_and_changes_nothing(client, group, deliver, data):
    path = held_and_claimed(client, group, deliver)
    assert client.post(path, data).status_code in (400, 404)
    assert not LearnerAlias.objects.exists() and not Message.objects.filter(tag="alias-code").exists()
    assert Post.objects.get().held


# Expiry, erasure, staff ---------------------------------------------------------------


def test_held_posts_nobody_claims_expire(group, deliver):
    assert deliver(from_home(group)) == 250
    assert aliases.expire_held(timezone.now() + timedelta(days=aliases.HOLD_DAYS - 1)) == 0
    assert aliases.expire_held(timezone.now() + timedelta(days=aliases.HOLD_DAYS, minutes=1)) == 1
    assert not Post.objects.exists()


def test_erasing_a_learner_removes_their_aliases_and_held_posts(group, deliver, alice):
    lifecycle.add_alias(alice, HOME)
    assert deliver(from_home(group, subject="Relayed from home")) == 250
    LearnerAlias.objects.all().delete()  # the post below is held as from an unknown address
    assert deliver(from_home(group, subject="Held from home")) == 250
    lifecycle.add_alias(alice, HOME)
    lifecycle.erase(alice)
    assert not LearnerAlias.objects.exists()
    assert list(Post.objects.values_list("subject", flat=True)) == ["Relayed from home"]
    assert HOME.encode() not in bytes(Post.objects.get().raw)
    assert not Notice.objects.filter(address=HOME).exists()
    assert not Refusal.objects.filter(sender=HOME).exists()


def test_staff_see_aliases_and_held_posts(client, facilitator, group, deliver, alice):
    lifecycle.add_alias(alice, "alice.work@example.net")
    assert deliver(from_home(group, subject="Held for staff")) == 250
    client.force_login(facilitator)
    detail = client.get(f"/dashboard/cohorts/{alice.cohort.slug}/learners/{alice.public_id}").content.decode()
    assert "alice.work@example.net" in detail
    archive = client.get(f"/groups/{group.public_id}/")
    [thread] = archive.context["threads"]
    assert thread["subject"] == "Held for staff" and thread["withheld"] == 1
    assert aliases.UNKNOWN_SENDER in client.get(thread["url"]).content.decode()


def test_stopping_all_mail_suppresses_the_aliases_too(group, deliver, alice):
    from mmooc.learners.models import Unsubscribe
    from mmooc.mailer.models import Suppression

    alias = lifecycle.add_alias(alice, HOME)
    lifecycle.unsubscribe(alice, Unsubscribe.SITE, Unsubscribe.PAGE)
    assert Suppression.objects.filter(address=HOME).exists()
    lifecycle.remove_alias(alice, alias.public_id)
    assert deliver(from_home(group)) == 250  # held again; its notice is never sent
    engine.drain()
    assert Delivery.objects.get(message__tag="list-notice").status == Delivery.SUPPRESSED


def test_one_members_mailbox_gets_a_few_codes_a_day_whoever_asks(client, group, deliver):
    path = held_and_claimed(client, group, deliver)
    for _ in range(aliases.CODES_PER_DAY + 2):
        client.post(path, {"email": "alice@example.org"})
        ratelimits.clear(f"also-me:send:{Post.objects.get().pk}")  # as if each came from another held post
    assert Message.objects.filter(tag="alias-code").count() == aliases.CODES_PER_DAY


@pytest.mark.postgres
def test_confirmations_racing_release_the_post_once(group, deliver, alice):
    assert deliver(from_home(group)) == 250
    lifecycle.add_alias(alice, HOME)
    released: list[int] = []
    testing.race(4, lambda: released.append(aliases.release(alice, HOME)))
    assert sorted(released) == [0, 0, 0, 1]
    assert relayed_to() == ["bob@example.org", "carol@example.org"]
