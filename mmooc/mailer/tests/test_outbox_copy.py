from __future__ import annotations

import pytest

from mmooc.mailer import outbox
from mmooc.mailer.models import Message
from mmooc.mailer.tests.viewer_helpers import sent_in_outbox

pytestmark = pytest.mark.django_db


def url(msg, delivery) -> str:
    return f"/outbox/{msg.public_id}/{delivery.pk}/"


def test_it_shows_the_text_part_with_links_as_plain_text(client, organizer, settings):
    msg = sent_in_outbox(settings)
    d = msg.deliveries.get(recipient="l1@example.org")
    client.force_login(organizer)
    response = client.get(url(msg, d))
    assert response.status_code == 200
    text = response.text.split('id="text-part">')[1].split("</pre>")[0]
    assert "confirm (https://course.example.org/confirm/tok1)" in " ".join(text.split())


def test_it_shows_the_html_in_a_sandboxed_iframe(client, organizer, settings):
    msg = sent_in_outbox(settings)
    client.force_login(organizer)
    response = client.get(url(msg, msg.deliveries.first()))
    assert '<iframe class="mail-html" title="HTML part" sandbox="" ' in response.text
    assert "<script" not in response.text.split("srcdoc=")[1].split("></iframe>")[0]


def test_it_shows_every_header(client, organizer, settings):
    msg = sent_in_outbox(settings)
    d = msg.deliveries.first()
    client.force_login(organizer)
    response = client.get(url(msg, d))
    for name in ("From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
                 "List-Unsubscribe-Post", "Precedence", "Content-Type"):
        assert f"<td>{name}</td>" in response.text
    assert d.header_message_id().strip("<>") in response.text


def test_it_previews_a_copy_not_sent_yet(client, organizer):
    d = outbox.send(to="a@example.org", subject="Hello", body="Not yet")
    client.force_login(organizer)
    response = client.get(url(d.message, d))
    assert "Preview built now" in response.text and "Not yet" in response.text


def test_it_serves_the_source_as_plain_text_with_a_strict_policy(client, organizer, settings):
    msg = sent_in_outbox(settings)
    d = msg.deliveries.first()
    client.force_login(organizer)
    response = client.get(url(msg, d) + "source")
    assert response.content == bytes(d.stored)
    assert response["Content-Type"].startswith("text/plain") and response["Content-Security-Policy"]


def test_it_gives_404_for_a_delivery_of_another_message(client, organizer, settings):
    msg = sent_in_outbox(settings)
    other = outbox.compose(kind=Message.TRANSACTIONAL, subject="x", body="x")
    client.force_login(organizer)
    assert client.get(url(other, msg.deliveries.first())).status_code == 404


def test_it_refuses_an_outsider(client, outsider, settings):
    msg = sent_in_outbox(settings)
    client.force_login(outsider)
    assert client.get(url(msg, msg.deliveries.first())).status_code == 403


def test_it_refuses_post(client, organizer, settings):
    msg = sent_in_outbox(settings)
    client.force_login(organizer)
    assert client.post(url(msg, msg.deliveries.first())).status_code == 405
