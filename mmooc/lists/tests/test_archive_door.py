"""From a group copy to the archive: the copy's List-Archive opens a page where a member types
their address and gets their own archive link by email; anyone else learns nothing."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from mmooc.learners.tests.helpers import path_of
from mmooc.lists import relay
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery, Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("outbox_mode")]


def texts(tag: str, to: str) -> list[str]:
    engine.drain()
    rows = Delivery.objects.filter(message__tag=tag, recipient=to)
    return [message_from_bytes(bytes(d.stored), policy=policy.default).get_body(("plain",)).get_content()
            for d in rows]


def copy_to(address: str):
    engine.drain()
    stored = Delivery.objects.get(message__tag="relay", recipient=address).stored
    return message_from_bytes(bytes(stored), policy=policy.default)


def test_a_member_reaches_the_archive_from_a_copys_list_archive(client, settings, group):
    settings.BASE_URL = "http://testserver"
    relay.receive(raw_post(to=group.address, subject="Week 1 notes", body="Here they are"),
                  "alice@example.org", [group.address])
    door = copy_to("bob@example.org")["List-Archive"].strip("<>")
    page = client.get(path_of(door))
    assert page.status_code == 200 and b"Here they are" not in page.content
    assert b"type the address you signed up with" in page.content
    answer = client.post(path_of(door), {"email": "Bob@Example.org"})
    assert answer.status_code == 200 and b"is on its way" in answer.content
    [mail] = texts("archive-link", "bob@example.org")
    link = re.search(r"https?://\S*/groups/archive/[^\s)>\]]+", mail).group(0)
    archive = client.get(path_of(link))
    assert archive.status_code == 200 and [t["subject"] for t in archive.context["threads"]] == ["Week 1 notes"]
    thread = client.get(archive.context["threads"][0]["url"])
    assert b"Here they are" in thread.content


def test_anyone_else_gets_the_same_answer_and_nothing_is_sent(client, group):
    from mmooc.testing import make_group

    other = make_group(group.cohort, 2, members=["olga@example.org"])
    door = f"/groups/{group.public_id}/"
    for address in ("stranger@example.org", "olga@example.org"):
        answer = client.post(door, {"email": address})
        assert answer.status_code == 200 and b"is on its way" in answer.content
    assert not Message.objects.filter(tag="archive-link").exists()
    assert other.memberships.count() == 1


def test_a_bad_address_is_a_400_and_nothing_is_sent(client, group):
    answer = client.post(f"/groups/{group.public_id}/", {"email": "not an address"})
    assert answer.status_code == 400 and b"is on its way" not in answer.content
    assert not Message.objects.filter(tag="archive-link").exists()


def test_the_form_trap_for_robots_sends_nothing(client, group):
    answer = client.post(f"/groups/{group.public_id}/", {"email": "bob@example.org", "website": "x"})
    assert answer.status_code == 200 and b"is on its way" in answer.content
    assert not Message.objects.filter(tag="archive-link").exists()


def test_the_link_comes_in_the_members_language(client, group):
    from mmooc.learners.models import Learner

    Learner.objects.filter(email="bob@example.org").update(language="es")
    client.post(f"/groups/{group.public_id}/", {"email": "bob@example.org"})
    assert Message.objects.get(tag="archive-link").subject.startswith("Tu enlace")
