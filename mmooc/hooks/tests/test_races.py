"""Several processes sending at once: each delivery is posted once."""

from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.hooks import events, sender
from mmooc.hooks.models import Endpoint, HookDelivery


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_senders_racing_post_each_delivery_once(webhook_receiver):
    Endpoint.objects.create(name="CRM", url=webhook_receiver.url, events=[events.EMAIL_SENT])
    for n in range(20):
        events.emit(events.EMAIL_SENT, {"n": n})
    testing.race(4, sender.deliver_due)
    ids = [r.headers["Mmooc-Event-Id"] for r in webhook_receiver.requests]
    assert len(ids) == len(set(ids)) == 20
    assert set(HookDelivery.objects.values_list("status", flat=True)) == {HookDelivery.DELIVERED}
