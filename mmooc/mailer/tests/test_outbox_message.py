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


def test_its_statements_do_not_grow_with_the_copies_listed(client, organizer, settings, django_assert_max_num_queries):
    few, many = sent_in_outbox(settings, n=2), sent_in_outbox(settings, n=30)
    client.force_login(organizer)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(f"/outbox/{few.public_id}/")
    with django_assert_max_num_queries(len(one)):
        client.get(f"/outbox/{many.public_id}/")


def test_its_sample_copy_is_read_from_the_recipients_index(client, organizer, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mmooc import testing

    msg = sent_in_outbox(settings, n=3)
    client.force_login(organizer)
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"/outbox/{msg.public_id}/")
    [sample] = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "mailer_delivery"."context"')]
    assert '"recipient" ASC' in sample
    assert "mailer_delivery_pkey" not in testing.query_plan(sample)
