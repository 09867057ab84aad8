from __future__ import annotations

import pytest

from mmooc.lists import inbound
from mmooc.lists.tests.mail import multipart_post, raw_post

DOMAIN = "lists.course.example.org"


def parsed(**kw):
    return inbound.parse(raw_post(**kw))


def test_it_reads_the_author_subject_and_message_id():
    post = parsed(sender="Alice@Example.org", subject="Hello", message_id="<a1@example.org>")
    assert (post.from_address, post.from_name, post.subject, post.message_id) == (
        "alice@example.org", "Alice Smith", "Hello", "<a1@example.org>")


def test_it_reports_a_missing_message_id_as_empty():
    assert parsed(message_id="").message_id == ""


def test_it_reads_threading_headers():
    post = parsed(headers={"In-Reply-To": "<b@x.org>", "References": "<a@x.org> <b@x.org>"})
    assert post.references == ("<a@x.org>", "<b@x.org>")
    assert post.thread_root == "<a@x.org>"
    assert post.thread_candidates == ["<a@x.org>", "<b@x.org>"]


def test_it_takes_in_reply_to_as_the_root_when_there_are_no_references():
    assert parsed(headers={"In-Reply-To": "<b@x.org>"}).thread_root == "<b@x.org>"


def test_a_first_post_is_its_own_thread_root():
    assert parsed(message_id="<root@x.org>").thread_root == "<root@x.org>"


def test_it_refuses_a_broken_multipart():
    raw = (b"From: a@example.org\r\nMessage-ID: <m@x>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\nno boundary ever\r\n')
    with pytest.raises(inbound.Defective, match="MIME structure is broken"):
        inbound.parse(raw)


def test_it_refuses_a_header_line_without_a_colon():
    raw = b"From: a@example.org\r\nThis is not a header\r\nSubject: x\r\n\r\nbody\r\n"
    with pytest.raises(inbound.Defective):
        inbound.parse(raw)


def test_it_refuses_an_unreadable_from():
    with pytest.raises(inbound.Defective, match="From header"):
        parsed(headers={"From": "Alice <<<@@>"})


def test_it_refuses_endless_nesting_without_crashing():
    raw = b"From: a@example.org\r\nMessage-ID: <m@x>\r\nMIME-Version: 1.0\r\n"
    for level in range(200):
        raw += f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
    with pytest.raises(inbound.Defective):
        inbound.parse(raw + b"\r\nend\r\n")


def test_it_refuses_too_many_parts():
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(inbound.MAX_PARTS + 1))
    raw = ('From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
           + parts + "--b--\r\n").encode()
    with pytest.raises(inbound.Defective, match="more than"):
        inbound.parse(raw)


def test_it_sees_our_list_id_as_a_loop():
    post = parsed(headers={"List-Id": "Group 3 <py-group-3.lists.course.example.org>"})
    assert "List-Id" in inbound.loop_reason(post.message, DOMAIN)


def test_it_sees_our_x_loop_as_a_loop():
    post = parsed(headers={"X-Loop": "py-group-1@lists.course.example.org"})
    assert "X-Loop" in inbound.loop_reason(post.message, DOMAIN)


def test_it_sees_our_list_post_as_a_loop():
    post = parsed(headers={"List-Post": "<mailto:py-group-9@lists.course.example.org>"})
    assert "List-Post" in inbound.loop_reason(post.message, DOMAIN)


def test_it_sees_more_than_30_received_headers_as_a_loop():
    raw = b"Received: from a by b\r\n" * 31 + raw_post()
    assert "30" in inbound.loop_reason(inbound.parse(raw).message, DOMAIN)


def test_it_lets_another_lists_id_through():
    post = parsed(headers={"List-Id": "<python-list.python.org>"})
    assert inbound.loop_reason(post.message, DOMAIN) == ""


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Auto-Submitted": "auto-generated; owner-email=x@y"},
    {"X-Autoreply": "yes"},
    {"X-Autorespond": "Out of office"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "auto_reply"},
    {"Precedence": "list"},
    {"Subject": "Out of Office: Hello group"},
    {"Subject": "Automatic reply: Hello group"},
    {"Subject": "Abwesenheitsnotiz: Hallo"},
    {"Subject": "Réponse automatique : Bonjour"},
])
def test_it_sees_automatic_replies(headers):
    post = parsed(headers=headers)
    assert inbound.auto_reply_reason(post.message, post.subject)


@pytest.mark.parametrize("headers", [{}, {"Auto-Submitted": "no"}, {"Precedence": "first-class"}])
def test_it_lets_human_posts_through(headers):
    post = parsed(headers=headers)
    assert inbound.auto_reply_reason(post.message, post.subject) == ""


def test_a_reply_about_a_vacation_is_not_an_automatic_reply():
    post = parsed(subject="Re: vacation plans")
    assert inbound.auto_reply_reason(post.message, post.subject) == ""


@pytest.mark.parametrize("envelope,headers", [
    ("", {}),
    ("<>", {}),
    ("x@example.org", {"From": "MAILER-DAEMON@mx.example.org"}),
    ("x@example.org", {"From": "Mail Delivery System <postmaster@example.org>"}),
    ("x@example.org", {"Content-Type": 'multipart/report; report-type=delivery-status; boundary="b"'}),
])
def test_it_sees_bounces(envelope, headers):
    raw = raw_post(headers=headers)
    if "Content-Type" in headers:
        raw = raw.replace(b"Hi all", b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--\r\nHi")
    post = inbound.parse(raw)
    assert inbound.bounce_reason(post.message, envelope, post.from_address)


def test_an_unknown_envelope_sender_is_not_a_bounce():
    post = parsed()
    assert inbound.bounce_reason(post.message, None, post.from_address) == ""


def test_it_keeps_the_plain_text_for_the_archive():
    post = inbound.parse(multipart_post())
    assert inbound.body_text(post.message) == "Here are my notes \u2014 see the picture."


def test_it_makes_an_html_only_post_plain():
    raw = raw_post(body="<p>Hello <b>all</b></p><script>alert(1)</script><p>Bye</p>",
                   headers={"Content-Type": 'text/html; charset="utf-8"'})
    assert inbound.body_text(inbound.parse(raw).message) == "Hello all\n\nBye"


def test_it_reads_a_body_in_an_unknown_charset():
    raw = raw_post(body="caf\u00e9", headers={"Content-Type": 'text/plain; charset="x-unknown"'})
    assert inbound.body_text(inbound.parse(raw).message).startswith("caf")


def test_clean_text_puts_everything_on_one_line():
    assert inbound.clean_text("a\r\nb\tc\x00d") == "a b c d"


def test_it_refuses_an_unreadable_from_header_each_time_it_comes():
    for _ in range(2):  # the second time the header's parsed value is reused
        with pytest.raises(inbound.Defective, match="From header"):
            parsed(headers={"From": "Alice <alice@@example..org"})


def test_it_reads_the_same_header_value_in_different_posts_alike():
    first, second = parsed(name="Alice Smith"), parsed(name="Alice Smith")
    assert (first.from_name, first.from_address) == (second.from_name, second.from_address)
    assert first.message["From"].name == "From"


def nested(levels: int) -> bytes:
    """A post whose text sits inside `levels` multipart parts, each properly closed."""
    head = b"From: a@example.org\r\nMessage-ID: <n@x.org>\r\nMIME-Version: 1.0\r\n"
    body = b"Content-Type: text/plain\r\n\r\nhello\r\n"
    for level in reversed(range(levels)):
        body = (f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode() + body
                + f"--b{level}--\r\n".encode())
    return head + body


def test_it_reads_a_post_nested_as_deep_as_allowed():
    assert inbound.body_text(inbound.parse(nested(inbound.MAX_DEPTH)).message).strip() == "hello"


def test_it_refuses_a_post_nested_one_level_deeper():
    with pytest.raises(inbound.Defective, match="nested more than"):
        inbound.parse(nested(inbound.MAX_DEPTH + 1))


def test_it_lets_exactly_30_received_headers_through():
    raw = b"Received: from a by b\r\n" * 29 + raw_post()  # the post has one of its own
    assert inbound.loop_reason(inbound.parse(raw).message, DOMAIN) == ""
