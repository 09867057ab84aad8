from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_network

import time_machine
from django.core.cache import cache
from django.utils import timezone

from mmooc.dashboard import signin

PASSWORD = "correct horse 42"  # mmooc.testing.make_user's default


def sign_in(client, username, password, address="10.0.0.1", **headers):
    return client.post("/dashboard/login/", {"username": username, "password": password},
                       REMOTE_ADDR=address, **headers)


def test_it_shows_the_form(client, db):
    r = client.get("/dashboard/login/")
    assert r.status_code == 200
    assert b'name="password"' in r.content


def test_it_signs_an_organizer_in(client, organizer):
    r = sign_in(client, "olivia", PASSWORD)
    assert r.status_code == 302 and r["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_it_signs_a_facilitator_in(client, facilitator):
    r = sign_in(client, "fabian", PASSWORD)
    assert r.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_it_refuses_a_wrong_password_with_400_and_says_why(client, organizer):
    r = sign_in(client, "olivia", "wrong")
    assert r.status_code == 400
    assert b"do not match a staff account" in r.content
    assert "_auth_user_id" not in client.session


def test_it_rate_limits_a_username_after_five_failures(client, organizer):
    for _ in range(signin.MAX_FAILURES_PER_USERNAME):
        assert sign_in(client, "olivia", "wrong").status_code == 400
    r = sign_in(client, "olivia", PASSWORD)  # even the right password is not checked now
    assert r.status_code == 429
    assert b"Too many failed attempts. Try again in 15 minutes." in r.content
    assert "_auth_user_id" not in client.session


def test_it_counts_usernames_without_regard_to_case(client, organizer):
    for _ in range(signin.MAX_FAILURES_PER_USERNAME):
        sign_in(client, "OLIVIA", "wrong")
    assert sign_in(client, "olivia", PASSWORD).status_code == 429


def test_it_rate_limits_an_address_trying_many_usernames(client, organizer):
    for i in range(signin.MAX_FAILURES_PER_ADDRESS):
        sign_in(client, f"guess{i}", "wrong", address="10.9.9.9")
    assert sign_in(client, "olivia", PASSWORD, address="10.9.9.9").status_code == 429
    assert sign_in(client, "olivia", PASSWORD, address="10.0.0.2").status_code == 302


def test_behind_a_trusted_proxy_only_the_client_that_failed_is_locked_out(client, organizer, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]
    proxy = {"address": "127.0.0.1"}
    for i in range(signin.MAX_FAILURES_PER_ADDRESS):
        sign_in(client, f"guess{i}", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert sign_in(client, "olivia", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy).status_code == 429
    # Another visitor through the same proxy signs in.
    assert sign_in(client, "olivia", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code == 302


def test_twenty_failures_through_a_trusted_proxy_from_twenty_clients_lock_out_none(client, organizer, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]
    for i in range(signin.MAX_FAILURES_PER_ADDRESS):
        sign_in(client, f"guess{i}", "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{i + 1}")
    assert sign_in(client, "olivia", PASSWORD, address="127.0.0.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 302


def test_an_untrusted_peer_cannot_escape_the_limit_by_naming_other_clients(client, organizer, settings):
    settings.TRUSTED_PROXIES = [ip_network("127.0.0.1/32")]
    for i in range(signin.MAX_FAILURES_PER_ADDRESS):
        sign_in(client, f"guess{i}", "wrong", address="10.9.9.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{i + 1}")
    assert sign_in(client, "olivia", PASSWORD, address="10.9.9.9",
                   HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429
    assert sign_in(client, "olivia", PASSWORD, address="10.0.0.2").status_code == 302


def test_failures_are_counted_in_the_database_not_in_one_process(client, organizer):
    from mmooc.operations.models import RateWindow

    sign_in(client, "olivia", "wrong", address="10.9.9.9")
    assert {(w.key, w.count) for w in RateWindow.objects.all()} == {
        ("signin-fail:user:olivia", 1), ("signin-fail:addr:10.9.9.9", 1)}
    cache.clear()  # what a process's memory holds does not matter
    for _ in range(signin.MAX_FAILURES_PER_USERNAME - 1):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", PASSWORD).status_code == 429


def test_it_lets_the_user_in_again_after_the_window(client, organizer):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(signin.MAX_FAILURES_PER_USERNAME):
            sign_in(client, "olivia", "wrong")
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        r = sign_in(client, "olivia", PASSWORD)
        assert r.status_code == 429 and b"Try again in 5 minutes." in r.content
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_it_forgets_failures_after_a_successful_sign_in(client, organizer):
    for _ in range(signin.MAX_FAILURES_PER_USERNAME - 1):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", PASSWORD).status_code == 302
    client.logout()
    assert sign_in(client, "olivia", "wrong").status_code == 400  # counting starts again


def test_it_signs_out_on_post(client, organizer):
    client.force_login(organizer)
    r = client.post("/dashboard/logout/")
    assert r.status_code == 302 and r["Location"] == "/dashboard/login/"
    assert client.get("/dashboard/")["Location"].startswith("/dashboard/login/")


def test_it_refuses_to_sign_out_on_get(client, organizer):
    client.force_login(organizer)
    assert client.get("/dashboard/logout/").status_code == 405
    assert client.get("/dashboard/").status_code == 200
