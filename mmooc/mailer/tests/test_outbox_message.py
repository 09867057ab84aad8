from __future__ import annotations

import pytest

from mmooc.mailer.models import Delivery
from mmooc.mailer.tests.viewer_helpers import sent_in_outbox

pytestmark = pytest.mark.django_db


def test_it_lists_the_recipients(client, organizer, settings):
    msg = sent_in_outbox(settings)
    client.force_login(organizer)
    response = client.get(f"/outbox/{msg.public_id}/")
    assert response.status_code == 200
    assert "l0@example.org" in response.text and "l1@example.org" in response.text


def test_it_filters_by_status(client, organizer, settings):
    msg = sent_in_outbox(settings)
    msg.deliveries.filter(recipient="l1@example.org").update(status=Delivery.FAILED)
    client.force_login(organizer)
    response = client.get(f"/outbox/{msg.public_id}/?status=failed")
    assert "l1@example.org" in response.text and "l0@example.org" not in response.text


def test_it_rejects_an_unknown_status_with_a_useful_message(client, organizer, settings):
    msg = sent_in_outbox(settings)
    client.force_login(organizer)
    response = client.get(f"/outbox/{msg.public_id}/?status=lost")
    assert response.status_code == 400 and "Unknown status" in response.text


def test_it_gives_404_for_an_unknown_message(client, organizer):
    client.force_login(organizer)
    assert client.get("/outbox/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_it_refuses_an_outsider(client, outsider, settings):
    msg = sent_in_outbox(settings)
    client.force_login(outsider)
    assert client.get(f"/outbox/{msg.public_id}/").status_code == 403


def test_it_refuses_post(client, organizer, settings):
    msg = sent_in_outbox(settings)
    client.force_login(organizer)
    assert client.post(f"/outbox/{msg.public_id}/").status_code == 405
