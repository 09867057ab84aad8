from __future__ import annotations

import pytest

from mmooc.mailer.tests.viewer_helpers import sent_in_outbox

pytestmark = pytest.mark.django_db


def test_it_lists_messages_with_counts(client, facilitator, settings):
    msg = sent_in_outbox(settings, n=3)
    client.force_login(facilitator)
    response = client.get("/outbox/")
    assert response.status_code == 200
    assert f"/outbox/{msg.public_id}/" in response.text
    assert '<td class="num">3</td>' in response.text


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/outbox/")
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]


def test_it_refuses_an_outsider(client, outsider):
    client.force_login(outsider)
    assert client.get("/outbox/").status_code == 403


def test_it_refuses_post(client, organizer):
    client.force_login(organizer)
    assert client.post("/outbox/").status_code == 405
