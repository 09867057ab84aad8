"""The audit log records the client's address, as a trusted proxy names it."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from mmooc.audit.log import record
from mmooc.audit.models import AuditEntry
from mmooc.lib.clients import TrustedProxyMiddleware

pytestmark = pytest.mark.django_db


def answer(peer: str, **headers: str) -> None:
    view = TrustedProxyMiddleware(lambda request: (record("someone", "thing.done"), HttpResponse())[1])
    view(RequestFactory().post("/", REMOTE_ADDR=peer, **headers))


def test_an_action_in_a_request_through_a_trusted_proxy_records_the_client(settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]
    answer("127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    answer("198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.8")  # not a proxy: the header is ignored
    assert list(AuditEntry.objects.order_by("id").values_list("address", flat=True)) == [
        "203.0.113.7", "198.51.100.9"]


def test_an_action_outside_a_request_records_no_address():
    answer("127.0.0.1")
    record("system", "job.ran")
    assert list(AuditEntry.objects.order_by("id").values_list("address", flat=True)) == ["127.0.0.1", ""]
