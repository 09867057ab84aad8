"""The LMTP server, over a real LMTP connection (Python's smtplib.LMTP), as Postfix uses it."""

from __future__ import annotations

import smtplib

import pytest

from mmooc import testing
from mmooc.lists import lmtp, relay
from mmooc.lists.models import Post, Refusal
from mmooc.lists.tests.door_cases import PostDoorCases
from mmooc.lists.tests.mail import multipart_post, raw_post
from mmooc.mailer import engine, verp
from mmooc.testing import add_member, make_group

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server():
    running = lmtp.start("127.0.0.1", testing.free_port())
    yield running
    running.stop()


@pytest.fixture
def client(server):
    conn = smtplib.LMTP(server.host, server.port, timeout=30)
    conn.ehlo_or_helo_if_needed()
    yield conn
    conn.close()


def lmtp_data(conn: smtplib.LMTP, sender: str, recipients: list[str], raw: bytes) -> list[tuple[int, bytes]]:
    """MAIL, RCPT each, DATA: the replies after DATA, one per accepted recipient (RFC 2033)."""
    assert conn.mail(sender)[0] == 250
    accepted = [r for r in recipients if conn.rcpt(r)[0] == 250]
    conn.putcmd("data")
    assert conn.getreply()[0] == 354
    conn.send(smtplib.quotedata(raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
              + b"\r\n.\r\n")
    return [conn.getreply() for _ in accepted]


class TestPostDoor(PostDoorCases):
    @pytest.fixture(autouse=True)
    def _connection(self, client):
        self.conn = client

    def deliver(self, raw, sender, recipient):
        [(code, _)] = lmtp_data(self.conn, sender, [recipient], raw)
        return code


def test_it_answers_lhlo_and_refuses_ehlo(server):
    with smtplib.SMTP(server.host, server.port, timeout=30) as conn:
        assert conn.ehlo()[0] == 500
    with smtplib.LMTP(server.host, server.port, timeout=30) as conn:
        assert conn.ehlo()[0] == 250  # smtplib.LMTP sends LHLO


def test_a_members_post_reaches_every_other_member_at_the_smtp_sink(cohort, client, smtp_sink):
    group = make_group(cohort, 1)
    for address in ("alice@example.org", "bob@example.org", "carol@example.org", "dan@example.org"):
        add_member(group, address, name=address.split("@")[0].title() + " Smith")
    raw = multipart_post(sender="alice@example.org", to=group.address, subject="Re: Week 1",
                         message_id="<w1@mail.example.org>", references="<w0@mail.example.org>")
    assert client.sendmail("alice@example.org", [group.address], raw) == {}
    assert engine.drain() == 3
    got = {r.rcpt_tos[0]: r for r in smtp_sink.received}
    assert sorted(got) == ["bob@example.org", "carol@example.org", "dan@example.org"]
    copy = got["bob@example.org"]
    assert copy.mail_from.startswith("bounces+") and copy.mail_from.endswith("@lists.course.example.org")
    msg = copy.message
    checks = {
        "To": "bob@example.org",
        "Subject": "Re: [Group 1] Week 1",
        "Message-ID": "<w1@mail.example.org>",
        "In-Reply-To": "<w0@mail.example.org>",
        "References": "<w0@mail.example.org>",
        "List-Id": "Group 1 <py-3-group-1.lists.course.example.org>",
        "List-Post": f"<mailto:{group.address}>",
        "List-Archive": f"<http://127.0.0.1:8000/groups/{group.public_id}/>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Loop": group.address,
        "Precedence": "list",
        "X-Auto-Response-Suppress": "OOF, AutoReply",
        "X-Original-From": '"Alice Smith" <alice@example.org>',
    }
    assert {name: str(msg[name]) for name in checks} == checks
    assert [len(msg.get_all(name)) for name in ("From", "To", "List-Id", "Subject", "Message-ID")] == [1] * 5
    assert b'From: "Alice Smith via Group 1" <py-3-group-1@lists.course.example.org>\r\n' in copy.data
    assert msg["Reply-To"].addresses[0].addr_spec == group.address
    assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/")
    assert "mailto:unsubscribe+" in msg["List-Unsubscribe"]
    assert msg.get_all("Auto-Submitted") is None
    assert [p.get_content_type() for p in msg.walk()][-4:] == ["text/plain", "text/html", "image/png", "text/plain"]
    assert msg.get_body(("plain",)).get_content().strip() == "Here are my notes \u2014 see the picture."


def test_it_replies_once_per_recipient_in_order(cohort, client):
    one = make_group(cohort, 1, members=["alice@example.org", "bob@example.org"])
    two = make_group(testing.make_cohort(), 1, members=["alice@example.org", "bea@example.org"])
    replies = lmtp_data(client, "alice@example.org", [one.address, two.address],
                        raw_post(to=one.address, headers={"Cc": two.address}))
    assert [code for code, _ in replies] == [250, 250]
    assert b"Group 1" in replies[0][1]
    assert Post.objects.count() == 2


def test_an_unknown_group_is_refused_at_rcpt(cohort, client):
    make_group(cohort, 1, members=["alice@example.org"])
    client.mail("alice@example.org")
    code, text = client.rcpt("nobody@lists.course.example.org")
    assert code == 550 and b"No such group" in text


def test_a_post_over_the_ceiling_is_refused_per_recipient_with_552(cohort, client, monkeypatch):
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 4000)
    one = make_group(cohort, 1, members=["alice@example.org"])
    two = make_group(cohort, 2, members=["ann@example.org"])
    replies = lmtp_data(client, "alice@example.org", [one.address, two.address],
                        raw_post(to=one.address, body="y" * 5000))
    assert [code for code, _ in replies] == [552, 552]
    assert b"limited to" in replies[0][1]
    assert not Post.objects.exists() and Refusal.objects.count() == 2


def test_a_declared_size_over_the_ceiling_is_refused_at_mail_from(cohort, client, monkeypatch):
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 4000)
    code, _ = client.mail("alice@example.org", ["SIZE=4001"])
    assert code == 552


@pytest.mark.parametrize("size", [2001, 4000])
def test_a_declared_size_over_the_limit_but_not_the_ceiling_is_accepted_at_mail_from(cohort, client, monkeypatch,
                                                                                    size):
    monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
    monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 4000)
    code, _ = client.mail("alice@example.org", [f"SIZE={size}"])
    assert code == 250


def test_a_very_long_line_is_answered_per_recipient(cohort, client):
    one = make_group(cohort, 1, members=["alice@example.org", "bob@example.org"])
    two = make_group(cohort, 2, members=["ann@example.org"])
    replies = lmtp_data(client, "alice@example.org", [one.address, two.address],
                        raw_post(to=one.address, body="z" * 5000))
    assert [code for code, _ in replies] == [250, 250]


def test_a_bounce_to_our_return_path_is_accepted_and_handed_to_the_mailer(cohort, client):
    from mmooc.mailer.models import Event
    from mmooc.mailer.verp import make_bounce_address

    address = make_bounce_address(12345)
    dsn = (b"From: MAILER-DAEMON@mx.example.org\r\nTo: " + address.encode() + b"\r\nSubject: Undelivered\r\n"
           b"Message-ID: <dsn-1@mx.example.org>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
           b"--r\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n"
           b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
           b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--r--\r\n")
    [(code, _)] = lmtp_data(client, "", [address], dsn)
    assert code == 250
    assert Event.objects.filter(provider="dsn").exists()
    assert not Refusal.objects.exists()


def test_it_looks_each_group_up_once_per_post(cohort, client, monkeypatch):
    group = make_group(cohort, 1, members=["alice@example.org", "bob@example.org"])
    lookups = []
    find_group = relay.find_group

    def counted(address):
        lookups.append(address)
        return find_group(address)

    monkeypatch.setattr(relay, "find_group", counted)
    [(code, _)] = lmtp_data(client, "alice@example.org", [group.address], raw_post(to=group.address))
    assert code == 250
    assert lookups == [group.address]


def test_rcpt_takes_a_group_address_in_any_case_and_refuses_what_postfix_would(cohort, client):
    group = make_group(cohort, 1, members=["alice@example.org"])
    assert client.mail("alice@example.org")[0] == 250
    assert client.rcpt(group.address.upper())[0] == 250
    assert client.rcpt(verp.make_bounce_address(5))[0] == 250
    assert client.rcpt("bounces+not-a-token@lists.course.example.org")[0] == 550
    assert client.rcpt(group.address.replace("@", "+tag@"))[0] == 550
    assert client.rcpt(group.address.replace("lists.", "other."))[0] == 550
    assert client.rcpt(group.address.replace("@", "\x00@"))[0] == 550  # not 451 (PostgreSQL refuses NUL)
