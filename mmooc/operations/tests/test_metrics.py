"""/metrics: off unless configured, a token and/or addresses, and Prometheus's text format."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mmooc.operations import counters

pytestmark = pytest.mark.django_db
TOKEN = "a-metrics-token-of-some-length"


def scrape(client, **headers) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def with_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []


def test_it_is_off_when_neither_a_token_nor_addresses_are_set(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = "", []
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_it_asks_for_the_bearer_token(client, with_token):
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token-of-some-length").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_it_answers_only_the_allowed_addresses(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = [ip_network("10.0.0.0/8"), ip_network("::1/128")]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.9.9.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="not an address").status_code == 403


def test_behind_a_trusted_proxy_the_allow_list_sees_the_client_not_the_proxy(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = [ip_network("127.0.0.1/32")]
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]
    # Monitoring on the machine itself asks directly; a visitor through nginx on the machine is refused.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403
    # A peer that is no proxy cannot claim to be the machine itself.
    settings.METRICS_ALLOW = [ip_network("10.0.0.0/8")]
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 403


def test_with_both_set_it_needs_both(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = [ip_network("127.0.0.1/32")]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **auth).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", **auth).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401


def test_it_refuses_post(client, with_token):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_every_metric_is_declared_before_its_first_event(client, with_token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    for name in ("mmooc_signups", "mmooc_confirmations", "mmooc_posts", "mmooc_posts_refused",
                 "mmooc_deliveries"):
        assert families[name].type == "counter" and families[name].documentation
    for name in ("mmooc_outbox_deliveries", "mmooc_outbox_oldest_due_age_seconds",
                 "mmooc_engine_heartbeat_age_seconds", "mmooc_engines"):
        assert families[name].type == "gauge" and families[name].documentation
    samples = scrape(client)
    assert samples[("mmooc_confirmations_total", ())] == 0
    assert samples[("mmooc_outbox_oldest_due_age_seconds", ())] == 0
    assert samples[("mmooc_engine_heartbeat_age_seconds", ())] == float("inf")
    assert samples[("mmooc_engines", ())] == 0


def test_counters_come_from_the_database_so_every_process_sees_one_total(client, with_token):
    # Written as another process would: straight into the table.
    counters.add("signups", 7, label="form")
    counters.add("signups", 2, label="api")
    counters.add("confirmations", 5)
    samples = scrape(client)
    assert samples[("mmooc_signups_total", (("source", "form"),))] == 7
    assert samples[("mmooc_signups_total", (("source", "api"),))] == 2
    assert samples[("mmooc_confirmations_total", ())] == 5
