from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from mmooc.lists import inbound
from mmooc.lists.headers import ListInfo, author_label, build_copy, list_id_for, split_fields, tag_subject
from mmooc.lists.tests.mail import multipart_post, raw_post

INFO = ListInfo(name="Group 12", address="py-3-group-12@lists.course.example.org",
                archive_url="https://course.example.org/groups/0b4e/")
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def copy_of(raw: bytes, author_name: str = "Alice Smith", author: str = "alice@example.org"):
    post = inbound.parse(raw)
    data = build_copy(raw, subject=post.subject, author_name=author_name, author_address=author,
                      info=INFO, now=NOW)
    return data, message_from_bytes(data, policy=policy.default)


def test_it_rewrites_from_to_the_author_via_the_group():
    data, msg = copy_of(raw_post())
    assert b'\r\nFrom: "Alice Smith via Group 12" <py-3-group-12@lists.course.example.org>\r\n' in data
    assert len(msg.get_all("From")) == 1


def test_it_encodes_a_non_ascii_author_name():
    data, msg = copy_of(raw_post(), author_name="Zoë Ångström")
    assert str(msg["From"].addresses[0].display_name) == "Zoë Ångström via Group 12"
    assert b"=?utf-8?b?" in data.split(b"\r\n\r\n")[0]
    assert data.split(b"\r\n\r\n")[0].isascii()


def test_it_neutralizes_an_address_in_the_display_name():
    _, msg = copy_of(raw_post(), author_name="boss@bank.example <evil>")
    name = msg["From"].addresses[0].display_name
    assert "@" not in name and name.endswith("via Group 12")


def test_reply_to_is_the_group_and_the_author_is_kept_once():
    _, msg = copy_of(raw_post(headers={"Reply-To": "alice.other@example.org"}))
    assert msg["Reply-To"].addresses[0].addr_spec == INFO.address
    assert msg.get_all("X-Original-From") == ['"Alice Smith" <alice@example.org>']
    header_text = "\n".join(f"{k}: {v}" for k, v in msg.items())
    assert header_text.count("alice@example.org") == 1


@pytest.mark.parametrize("subject,expected", [
    ("Hello", "[Group 12] Hello"),
    ("Re: Hello", "Re: [Group 12] Hello"),
    ("Re: [Group 12] Hello", "Re: [Group 12] Hello"),
    ("Re: [Group 12] Re: [Group 12] Hello", "Re: [Group 12] Hello"),
    ("RE: AW: Re[2]: [Group 12] Hello", "Re: [Group 12] Hello"),
    ("[Group 12] Hello", "[Group 12] Hello"),
    ("Fwd: [Group 12] Hello", "[Group 12] Fwd: Hello"),
    ("", "[Group 12] (no subject)"),
    ("Re:", "Re: [Group 12] (no subject)"),
])
def test_it_tags_the_subject_once(subject, expected):
    assert tag_subject(subject, "[Group 12]") == expected


def test_it_encodes_a_non_ascii_subject():
    _, msg = copy_of(raw_post(subject="Re: Café au lait ☕"))
    assert msg["Subject"] == "Re: [Group 12] Café au lait ☕"


def test_it_sets_exactly_one_list_id_and_our_list_headers():
    _, msg = copy_of(raw_post(headers={"List-Id": "<other.example.org>", "List-Post": "<mailto:x@y.org>",
                                       "List-Unsubscribe": "<https://other.example/u>"}))
    assert msg.get_all("List-Id") == ["Group 12 <py-3-group-12.lists.course.example.org>"]
    assert msg.get_all("List-Post") == ["<mailto:py-3-group-12@lists.course.example.org>"]
    assert msg.get_all("List-Archive") == ["<https://course.example.org/groups/0b4e/>"]
    assert msg.get_all("List-Unsubscribe") is None  # the mail engine adds each member's own


def test_it_marks_the_copy_against_loops_and_auto_replies():
    _, msg = copy_of(raw_post())
    assert msg.get_all("X-Loop") == [INFO.address]
    assert msg.get_all("Precedence") == ["list"]
    assert msg.get_all("X-Auto-Response-Suppress") == ["OOF, AutoReply"]
    assert msg.get_all("Auto-Submitted") is None


def test_it_keeps_a_precedence_already_there():
    _, msg = copy_of(raw_post(headers={"Precedence": "first-class"}))
    assert msg.get_all("Precedence") == ["first-class"]


def test_a_copy_is_a_loop_when_it_comes_back():
    _, msg = copy_of(raw_post())
    assert inbound.loop_reason(msg, "lists.course.example.org")


def test_it_keeps_the_authors_message_id_date_and_threading():
    raw = raw_post(message_id="<orig@mail.example.org>",
                   headers={"In-Reply-To": "<p@x.org>", "References": "<r@x.org> <p@x.org>"})
    _, msg = copy_of(raw)
    assert msg["Message-ID"] == "<orig@mail.example.org>"
    assert msg["In-Reply-To"] == "<p@x.org>"
    assert msg["References"] == "<r@x.org> <p@x.org>"
    assert msg.get_all("Date") == ["Mon, 02 Nov 2026 10:00:00 +0000"]


def test_it_adds_a_date_when_there_is_none():
    _, msg = copy_of(raw_post(headers={"Date": None}))
    assert msg["Date"].datetime == NOW


@pytest.mark.parametrize("name", ["X-Mailgun-Sflag", "X-Mailgun-Variables", "Bcc", "Return-Path", "Delivered-To",
                                  "DKIM-Signature", "Disposition-Notification-To", "Sender", "To"])
def test_it_strips_provider_and_transport_headers(name):
    data, msg = copy_of(raw_post(headers={name: "someone@example.org"}))
    assert msg.get_all(name) is None


def test_it_keeps_cc_and_unknown_headers():
    _, msg = copy_of(raw_post(headers={"Cc": "bob@example.org", "X-Mailer": "Thunderbird"}))
    assert msg["Cc"] == "bob@example.org" and msg["X-Mailer"] == "Thunderbird"


def test_it_keeps_the_body_byte_for_byte():
    raw = multipart_post()
    data, msg = copy_of(raw)
    assert raw.split(b"\r\n\r\n", 1)[1] in data
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert set(parts) >= {"text/plain", "text/html", "image/png"}
    assert parts["image/png"].get_filename() == "notes.png"
    assert parts["image/png"].get_content().startswith(b"\x89PNG")


def test_it_makes_line_ends_crlf():
    data, _ = copy_of(raw_post(eol=b"\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_every_header_line_is_at_most_998_octets():
    data, _ = copy_of(raw_post(subject="word " * 300), author_name="N" * 500)
    assert all(len(line) <= 998 for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"))


def test_it_drops_an_mbox_separator_line():
    fields, _ = split_fields(b"From alice@example.org Mon Nov  2 10:00:00 2026\r\nSubject: x\r\n\r\nbody")
    assert fields == [("subject", b"Subject: x")]


def test_list_id_is_a_dot_atom_of_the_address():
    assert list_id_for("Py-3-Group-12@Lists.Example.org") == "py-3-group-12.lists.example.org"


def test_author_label_has_a_name_even_without_one():
    assert author_label("", "Group 1") == "A member via Group 1"


FULL = ListInfo(name="Group 12", address="py-3-group-12@lists.course.example.org",
                archive_url="https://course.example.org/groups/0b4e/", help_url="https://course.example.org/me/",
                owner="team@course.example.org")


@pytest.mark.parametrize("raw", [raw_post(), multipart_post(), raw_post(headers={"Content-Type": None,
                                                                                "Content-Transfer-Encoding": None})])
def test_every_copy_has_list_help_list_owner_and_a_two_line_footer(raw):
    post = inbound.parse(raw)
    data = build_copy(raw, subject=post.subject, author_name="Alice", author_address="alice@example.org",
                      info=FULL, now=NOW)
    msg = message_from_bytes(data, policy=policy.default)
    assert msg["List-Help"] == "<https://course.example.org/me/>"
    assert msg["List-Owner"] == "<mailto:team@course.example.org>"
    assert msg.get_content_type() == "multipart/mixed" and not msg.defects
    parts = list(msg.iter_parts())
    footer = parts[-1].get_content()
    assert footer.splitlines()[1:] == [
        "Leave Group 12, or get one daily digest or no group mail (web only) instead: https://course.example.org/me/",
        "Every post of the group, in threads: https://course.example.org/groups/0b4e/"]
    # The author's message is the first part, its own headers and bytes unchanged.
    assert raw.split(b"\r\n\r\n", 1)[1] in data
    written = message_from_bytes(raw, policy=policy.default)
    assert parts[0].get_content_type() == written.get_content_type()
    assert len(parts) == 2
