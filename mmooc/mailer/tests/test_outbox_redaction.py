"""Need to know: copies in the outbox show learners' links with the token hidden, to every
member of staff; an organizer may reveal one copy's links, and that is audited."""

from __future__ import annotations

import base64
import quopri
import uuid
from email import message_from_bytes, policy

import pytest
from django.core import signing

from mmooc.audit.models import AuditEntry
from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Message
from mmooc.mailer.outbox import Recipient
from mmooc.mailer.redact import redact_message, redact_text

pytestmark = pytest.mark.django_db
BASE = "https://course.example.org"


def signed(value: str, salt: str = "mmooc.learners.page") -> str:
    """A token as the site's links carry them (TimestampSigner with "." over a public id)."""
    return signing.TimestampSigner(salt=salt, sep=".").sign(value)


def tokens() -> dict[str, str]:
    learner, group = uuid.uuid4().hex, uuid.uuid4().hex
    return {"page": signed(learner), "unsubscribe": signed("c" + learner, "mmooc.learners.unsubscribe"),
            "archive": signed(f"{group}-{learner}", "mmooc.lists.archive"), "check": signed(learner, "check")}


def test_every_kind_of_learner_token_is_hidden_and_nothing_else():
    t = tokens()
    text = (f"Your page: {BASE}/me/{t['page']}\nLeave: {BASE}/me/{t['page']}/leave\n"
            f"Unsubscribe: <{BASE}/u/{t['unsubscribe']}>\nArchive: {BASE}/groups/archive/{t['archive']}/\n"
            f"Yes: {BASE}/group-check/{t['check']}/yes/\n"
            "Message-ID: <20270308.1.0DF563D0B3597700@course.example.org> see https://python.org/3.12/ ok")
    redacted = redact_text(text)
    assert not any(token in redacted for token in t.values())
    assert f"{BASE}/me/…\n" in redacted and f"{BASE}/me/…/leave" in redacted and f"<{BASE}/u/…>" in redacted
    assert f"{BASE}/groups/archive/…/" in redacted and f"{BASE}/group-check/…/yes/" in redacted
    assert redacted.endswith("Message-ID: <20270308.1.0DF563D0B3597700@course.example.org> see "
                             "https://python.org/3.12/ ok")


@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
def test_a_token_inside_an_encoded_part_is_found(cte):
    token = tokens()["page"]
    mail = message_from_bytes(b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\n",
                              policy=policy.default)
    mail.set_content(f"Hello — your page is at {BASE}/me/{token} and yours only. " * 3, cte=cte)
    mail.add_alternative(f'<p><a href="{BASE}/me/{token}">your page</a></p>', subtype="html", cte=cte)
    raw = mail.as_bytes()
    assert token.encode() not in raw or cte == "8bit"  # encoded: no plain-text search would find it
    out = redact_message(raw)
    assert token.encode() not in out
    assert token.encode() not in quopri.decodestring(out)
    parsed = message_from_bytes(out, policy=policy.default)
    text, html = (parsed.get_body((kind,)).get_content() for kind in ("plain", "html"))
    assert f"{BASE}/me/… and yours only" in text and f'href="{BASE}/me/…"' in html
    assert parsed.get_body(("plain",))["Content-Transfer-Encoding"] == cte
    if cte == "base64":
        assert token.encode() not in base64.b64decode(parsed.get_body(("html",)).get_payload())


def test_a_message_without_tokens_is_shown_as_stored():
    raw = b"From: a@example.org\r\nSubject: x\r\n\r\nNo links here.\r\n"
    assert redact_message(raw) == raw


def sent(settings) -> tuple[Message, str]:
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    token = tokens()["page"]
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 1",
                         body="Your page: [open it]({{ page_url }}) or {{ page_url }}",
                         list_id="py-3.announce.example.org")
    outbox.enqueue(msg, [Recipient("ada@example.org", {
        "page_url": f"{BASE}/me/{token}", "unsubscribe_url": f"{BASE}/u/{tokens()['unsubscribe']}"})])
    engine.drain()
    return msg, token


def copy_url(msg: Message) -> str:
    return f"/outbox/{msg.public_id}/{msg.deliveries.get().pk}/"


def test_organizers_see_copies_and_their_source_with_the_tokens_hidden(client, settings, organizer):
    msg, token = sent(settings)
    client.force_login(organizer)
    page = client.get(copy_url(msg))
    assert page.status_code == 200 and token not in page.text
    assert f"{BASE}/me/…" in page.text and 'id="links-hidden"' in page.text
    source = client.get(copy_url(msg) + "source")
    assert source.status_code == 200 and token.encode() not in source.content
    stored = message_from_bytes(bytes(msg.deliveries.get().stored), policy=policy.default)
    assert token in stored.get_body(("plain",)).get_content()  # the stored copy itself is untouched
    assert not AuditEntry.objects.exists()


def test_an_organizer_reveals_one_copy_s_links_and_it_is_audited(client, settings, organizer):
    msg, token = sent(settings)
    client.force_login(organizer)
    assert "Show this copy" in client.get(copy_url(msg)).text
    response = client.post(copy_url(msg) + "reveal")
    assert response.status_code == 200 and f"{BASE}/me/{token}" in response.text
    assert 'id="links-revealed"' in response.text
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.object_id) == ("outbox.links_revealed", organizer,
                                                            str(msg.deliveries.get().pk))
    assert token not in client.get(copy_url(msg)).text  # the next look is redacted again


def test_a_facilitator_opens_no_copy_and_cannot_reveal_links(client, settings, facilitator):
    msg, token = sent(settings)
    client.force_login(facilitator)
    for page in (copy_url(msg), copy_url(msg) + "source"):
        response = client.get(page)
        assert response.status_code == 403 and token not in response.text and "/me/" not in response.text
    response = client.post(copy_url(msg) + "reveal")
    assert response.status_code == 403 and token not in response.text
    assert not AuditEntry.objects.exists()


def test_revealing_takes_a_post_only_and_an_existing_copy(client, settings, organizer):
    msg, token = sent(settings)
    client.force_login(organizer)
    assert client.get(copy_url(msg) + "reveal").status_code == 405
    assert client.post(f"/outbox/{msg.public_id}/999999/reveal").status_code == 404
    assert not AuditEntry.objects.exists()
