from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mmooc.mailer import outbox
from mmooc.mailer.models import Message
from mmooc.mailer.outbox import Recipient
from mmooc.mailer.render import prepare

pytestmark = pytest.mark.django_db
LONG_URL = "https://course.example.org/unsubscribe/" + "a" * (200 - len("https://course.example.org/unsubscribe/"))


def copy(kind=Message.SUBSCRIBED, context=None, **kw) -> bytes:
    kw.setdefault("subject", "Week 1, {{ name }}")
    kw.setdefault("body", "Hello **{{ name }}**, see [your page]({{ page_url }}).")
    if kind == Message.SUBSCRIBED:
        kw.setdefault("list_id", "py-3.announce.lists.course.example.org")
    msg = outbox.compose(kind=kind, footer="The Team · 1 Example Street", **kw)
    ctx = {"name": "Zoë <Z>", "page_url": "https://course.example.org/me?a=1&b=2",
           "unsubscribe_url": LONG_URL}
    ctx.update(context or {})
    outbox.enqueue(msg, [Recipient("zoe@example.org", ctx)])
    d = msg.deliveries.get()
    return prepare(msg).personalize(d.pk, d.recipient, d.context, d.rfc_message_id)


def parsed(data: bytes):
    return message_from_bytes(data, policy=policy.default)


@pytest.mark.parametrize("kept", ["", "<19a0c2f1e3b4d5e6f7a8b9c0d1e2.0@course.example.org>"],
                         ids=["made-from-the-ids", "kept-in-the-row"])
def test_a_copy_goes_out_with_the_message_id_of_its_row_or_one_made_from_the_ids(kept):
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hi", body="Hello",
                         from_email="Team <team@Mail.Example.org>")
    outbox.enqueue(msg, [Recipient("zoe@example.org")])
    d = msg.deliveries.get()
    prepared = prepare(msg)
    made = f"<{msg.public_id.hex}.{d.pk:x}@mail.example.org>"
    for data in (prepared.personalize(d.pk, d.recipient, d.context, kept),
                 prepared.parts(d.pk, d.context, kept).headers["Message-ID"].encode()):
        assert (kept or made).encode() in data
        assert (made.encode() in data) == (not kept)


def test_it_has_one_from_date_and_message_id():
    m = parsed(copy())
    assert [len(m.get_all(h)) for h in ("From", "Date", "Message-ID", "To")] == [1, 1, 1, 1]


def test_it_uses_crlf_and_short_lines():
    data = copy(body="word " * 2000)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_it_keeps_a_200_character_unsubscribe_url_whole_and_unencoded():
    data = copy()
    line = next(x for x in data.split(b"\r\n") if x.startswith(b"List-Unsubscribe:"))
    assert line.startswith(b"List-Unsubscribe: <" + LONG_URL.encode() + b">, <mailto:unsubscribe+")
    assert b"=?" not in line


def test_it_adds_one_click_list_id_and_precedence_to_subscribed_mail():
    m = parsed(copy())
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert m["List-Id"] == "<py-3.announce.lists.course.example.org>"
    assert m["Precedence"] == "bulk"


def test_it_adds_no_list_headers_to_transactional_mail():
    m = parsed(copy(kind=Message.TRANSACTIONAL))
    assert m["List-Unsubscribe"] is None and m["Precedence"] is None


def test_it_personalizes_the_subject_and_encodes_non_ascii():
    data = copy()
    assert b"Subject: =?utf-8?b?" in data
    assert parsed(data)["Subject"] == "Week 1, Zoë <Z>"


def test_it_escapes_values_in_the_html_part_only():
    m = parsed(copy())
    text = m.get_body(("plain",)).get_content()
    html = m.get_body(("html",)).get_content()
    assert "Hello Zoë <Z>, see your page (https://course.example.org/me?a=1&b=2)." in " ".join(text.split())
    assert "<strong>Zoë &lt;Z&gt;</strong>" in html
    assert 'href="https://course.example.org/me?a=1&amp;b=2"' in html


def test_it_puts_the_unsubscribe_link_and_footer_in_both_parts():
    m = parsed(copy())
    for part in (m.get_body(("plain",)), m.get_body(("html",))):
        assert LONG_URL in part.get_content() and "1 Example Street" in part.get_content()


def test_it_sanitizes_html_in_the_markdown():
    html = parsed(copy(body="Hi <script>alert(1)</script><a href=\"javascript:x()\">x</a>")).get_body(
        ("html",)).get_content()
    assert "<script" not in html and "javascript:" not in html


def test_it_inlines_css():
    html = parsed(copy()).get_body(("html",)).get_content()
    assert '<a href="https://course.example.org/me?a=1&amp;b=2" style="' in html


def test_raw_copies_get_to_and_list_unsubscribe_and_keep_the_rest_byte_for_byte():
    raw = (b"From: Alice via Group 12 <g12@lists.example.org>\r\nTo: g12@lists.example.org\r\n"
           b"Subject: Hi\r\nMessage-ID: <p1@example.org>\r\n\r\nHello =\r\n")
    msg = outbox.compose_raw(raw=raw)
    outbox.enqueue(msg, [Recipient("bob@example.org", {"unsubscribe_url": LONG_URL})])
    d = msg.deliveries.get()
    data = prepare(msg).personalize(d.pk, d.recipient, d.context, d.rfc_message_id)
    assert data.endswith(raw)
    added = data[: -len(raw)]
    assert added.startswith(b"List-Unsubscribe: <" + LONG_URL.encode() + b">, <mailto:")
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in added and b"To:" not in added


def test_raw_copies_without_to_get_the_recipient():
    msg = outbox.compose_raw(raw=b"From: a@example.org\nSubject: Hi\n\nHello\n")
    outbox.enqueue(msg, [Recipient("bob@example.org")])
    d = msg.deliveries.get()
    assert prepare(msg).personalize(d.pk, d.recipient, d.context, d.rfc_message_id).startswith(
        b"To: bob@example.org\nFrom:")
