"""The client's address and scheme: proxy headers believed only from MMOOC_TRUSTED_PROXIES."""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from mmooc.lib.clients import TrustedProxyMiddleware, client_address, forwarded_secure, in_networks

PROXIES = [ip_network("10.0.0.0/8"), ip_network("::1/128")]


def request(peer: str, forwarded_for: str | None = None, proto: str | None = None):
    headers = {}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    if proto is not None:
        headers["HTTP_X_FORWARDED_PROTO"] = proto
    return RequestFactory().get("/", REMOTE_ADDR=peer, **headers)


@pytest.fixture
def proxies(settings):
    settings.TRUSTED_PROXIES = PROXIES


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(request("10.1.1.1", "203.0.113.7")) == "10.1.1.1"


def test_a_trusted_proxy_names_the_client(proxies):
    assert client_address(request("10.1.1.1", "203.0.113.7")) == "203.0.113.7"


def test_an_untrusted_peer_cannot_name_another_client(proxies):
    assert client_address(request("198.51.100.9", "203.0.113.7")) == "198.51.100.9"


def test_the_chain_is_read_from_the_right_past_trusted_proxies_only(proxies):
    # The client wrote "1.2.3.4" itself; the outer proxy 10.2.2.2 saw 203.0.113.7; the inner one saw 10.2.2.2.
    assert client_address(request("10.1.1.1", "1.2.3.4, 203.0.113.7, 10.2.2.2")) == "203.0.113.7"


def test_a_chain_of_trusted_proxies_only_gives_the_leftmost(proxies):
    assert client_address(request("10.1.1.1", "10.3.3.3, 10.2.2.2")) == "10.3.3.3"


@pytest.mark.parametrize("header", ["", "  ,  ", "not-an-address", "203.0.113.7, <script>", "x" * 10_000])
def test_nonsense_from_a_trusted_proxy_falls_back_to_what_is_known(proxies, header):
    assert client_address(request("10.1.1.1", header)) == "10.1.1.1"


def test_ipv6_and_bracketed_and_mapped_addresses(proxies):
    assert client_address(request("::1", "[2001:db8::7]")) == "2001:db8::7"
    assert client_address(request("::ffff:10.1.1.1", "203.0.113.7")) == "203.0.113.7"
    assert in_networks("::ffff:10.9.9.9", PROXIES)
    assert not in_networks("", PROXIES) and in_networks("", ["unix"])


def test_https_is_believed_only_from_a_trusted_proxy(proxies):
    middleware = TrustedProxyMiddleware(lambda r: HttpResponse("https" if r.is_secure() else "http"))
    assert middleware(request("10.1.1.1", proto="https")).content == b"https"
    assert middleware(request("198.51.100.9", proto="https")).content == b"http"
    assert middleware(request("10.1.1.1", proto="http")).content == b"http"
    assert not forwarded_secure(request("198.51.100.9", proto="https"))


def test_https_from_a_trusted_proxy_sets_secure_redirects_right(client, settings, proxies, db):
    settings.SECURE_SSL_REDIRECT = True
    # Through the whole middleware stack: the proxy says https, so no redirect to https.
    assert client.get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_PROTO="https").status_code != 301
    assert client.get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_PROTO="https").status_code == 301
