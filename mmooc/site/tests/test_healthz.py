from __future__ import annotations

import os
import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError
from django.utils import timezone

from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, health, outbox
from mmooc.mailer.models import EngineHeartbeat, Message


@pytest.mark.django_db
def test_it_reports_the_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_it_answers_503_when_the_database_is_unreachable(client):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute",
                    side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"


def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405


# --- the delivery engine -------------------------------------------------------------------


def queue(n: int = 2, **recipient) -> Message:
    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(msg, [outbox.Recipient(f"h{i}@example.org", **recipient) for i in range(n)])
    return msg


def beat(seconds_ago: float) -> None:
    at = timezone.now() - timedelta(seconds=seconds_ago)
    EngineHeartbeat.objects.create(owner="other-host:42:abcd", started_at=at, beat_at=at)


@pytest.mark.django_db
def test_with_nothing_due_and_no_engine_all_is_well(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["engine"] == {"last_heartbeat": None, "heartbeat_age_seconds": None,
                                         "oldest_due": None, "oldest_due_age_seconds": None,
                                         "stale_after_seconds": 300, "stale": False}


@pytest.mark.django_db
def test_mail_due_and_no_engine_is_503(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        queue()
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    engine_state = response.json()["engine"]
    assert engine_state["stale"] is True and engine_state["oldest_due_age_seconds"] == 30
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_mail_due_with_an_engine_beating_is_200(client):
    queue()
    beat(seconds_ago=5)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["engine"]["heartbeat_age_seconds"] == pytest.approx(5, abs=1)


@pytest.mark.django_db
def test_an_engine_silent_longer_than_the_limit_is_503_while_mail_is_due(client, settings):
    settings.HEALTH_ENGINE_STALE = 120
    queue()
    beat(seconds_ago=121)
    assert client.get("/healthz").status_code == 503
    beat_row = EngineHeartbeat.objects.get()
    beat_row.beat_at = timezone.now() - timedelta(seconds=100)
    beat_row.save()
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_copies_of_a_paused_message_or_not_yet_due_are_not_waiting(client):
    outbox.pause(queue())
    queue(not_before=timezone.now() + timedelta(hours=1))
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["engine"]["oldest_due"] is None


@pytest.mark.django_db
def test_a_running_engine_writes_its_heartbeat(client, settings):
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    queue()
    engine.run(threading.Event(), once=True)
    [row] = EngineHeartbeat.objects.all()
    assert row.owner.split(":")[1] == str(os.getpid())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["engine"]["heartbeat_age_seconds"] < 5


@pytest.mark.django_db
def test_an_engine_starting_forgets_heartbeats_a_day_old():
    beat(seconds_ago=2 * 86400)
    health.beat("this-host:1:ffff", starting=True)
    assert list(EngineHeartbeat.objects.values_list("owner", flat=True)) == ["this-host:1:ffff"]
