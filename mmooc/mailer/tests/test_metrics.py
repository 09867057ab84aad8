"""What the outbox and the engine show at /metrics: queue depth, the oldest due copy, outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Message, Suppression
from mmooc.operations.tests.test_metrics import TOKEN, scrape

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []


def queue(n: int) -> Message:
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [outbox.Recipient(f"m{i}@example.org") for i in range(n)])
    return msg


def test_it_shows_the_queue_by_state_and_the_oldest_due_copy(client, with_token):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue(3)
    with time_machine.travel(start + timedelta(seconds=90), tick=False):
        samples = scrape(client)
    assert samples[("mmooc_outbox_deliveries", (("state", "queued"),))] == 3
    assert samples[("mmooc_outbox_deliveries", (("state", "deferred"),))] == 0
    assert samples[("mmooc_outbox_deliveries", (("state", "sending"),))] == 0
    assert samples[("mmooc_outbox_oldest_due_age_seconds", ())] == pytest.approx(90, abs=1)


def test_it_counts_what_the_engine_did(client, with_token, settings):
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    queue(4)
    outbox.send(to="gone@example.org", subject="x", body="y")
    Suppression.objects.create(address="gone@example.org", reason=Suppression.MANUAL)
    assert engine.drain() == 5
    samples = scrape(client)
    assert samples[("mmooc_deliveries_total", (("outcome", "sent"),))] == 4
    assert samples[("mmooc_deliveries_total", (("outcome", "suppressed"),))] == 1
    assert samples[("mmooc_outbox_deliveries", (("state", "queued"),))] == 0
