from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mmooc.lib.env import (
    env_bool,
    env_domain,
    env_email,
    env_float,
    env_int,
    env_list,
    env_url,
    parse_email_url,
)


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("TRUE", True), ("on", True),
                                             ("0", False), ("no", False), ("false", False), ("", False)])
def test_env_bool_reads_yes_and_no_words(value, expected):
    assert env_bool("MMOOC_DEBUG", not expected, {"MMOOC_DEBUG": value}) is expected


def test_env_bool_uses_the_default_when_unset():
    assert env_bool("MMOOC_DEBUG", True, {}) is True


def test_env_bool_names_the_variable_on_a_bad_value():
    with pytest.raises(ImproperlyConfigured, match="MMOOC_DEBUG: expected a yes/no value"):
        env_bool("MMOOC_DEBUG", False, {"MMOOC_DEBUG": "maybe"})


def test_env_int_reads_a_number_and_checks_the_minimum():
    assert env_int("N", 5, {"N": "12"}) == 12
    assert env_int("N", 5, {}) == 5
    with pytest.raises(ImproperlyConfigured, match="N: expected a whole number, got 'ten'"):
        env_int("N", 5, {"N": "ten"})
    with pytest.raises(ImproperlyConfigured, match="N: must be at least 1"):
        env_int("N", 5, {"N": "0"}, minimum=1)


def test_env_float_refuses_negative_and_words():
    assert env_float("RATE", 0.0, {"RATE": "12.5"}) == 12.5
    with pytest.raises(ImproperlyConfigured, match="RATE: must be at least 0"):
        env_float("RATE", 0.0, {"RATE": "-1"})
    with pytest.raises(ImproperlyConfigured, match="RATE: expected a number"):
        env_float("RATE", 0.0, {"RATE": "fast"})


def test_env_list_splits_on_commas():
    assert env_list("HOSTS", ["a"], {"HOSTS": "course.example.org, www.example.org,"}) == [
        "course.example.org", "www.example.org"]
    assert env_list("HOSTS", ["a"], {}) == ["a"]


def test_env_url_accepts_http_and_https_and_drops_the_trailing_slash():
    assert env_url("MMOOC_BASE_URL", "", {"MMOOC_BASE_URL": "https://course.example.org/"},
                   schemes=("http", "https")) == "https://course.example.org"


@pytest.mark.parametrize("value", ["course.example.org", "ftp://course.example.org", "https://", "http//x"])
def test_env_url_refuses_what_is_not_a_web_address(value):
    with pytest.raises(ImproperlyConfigured, match="MMOOC_BASE_URL: expected a URL like http"):
        env_url("MMOOC_BASE_URL", "", {"MMOOC_BASE_URL": value}, schemes=("http", "https"))


def test_env_domain_lowercases_and_validates():
    assert env_domain("MMOOC_LIST_DOMAIN", "", {"MMOOC_LIST_DOMAIN": "Lists.Example.ORG"}) == "lists.example.org"
    for bad in ["localhost", "lists..example.org", "lists example.org", "-x.example.org@", "bücher.de"]:
        with pytest.raises(ImproperlyConfigured, match="MMOOC_LIST_DOMAIN: expected a domain name"):
            env_domain("MMOOC_LIST_DOMAIN", "", {"MMOOC_LIST_DOMAIN": bad})


def test_env_email_accepts_a_display_name():
    value = "Python Course <team@course.example.org>"
    assert env_email("MMOOC_FROM_EMAIL", "", {"MMOOC_FROM_EMAIL": value}) == value


@pytest.mark.parametrize("value", ["team", "team@localhost", "Course <team@x.org>\r\nBcc: a@b.org", ""])
def test_env_email_refuses_broken_addresses(value):
    with pytest.raises(ImproperlyConfigured, match="MMOOC_FROM_EMAIL"):
        env_email("MMOOC_FROM_EMAIL", "", {"MMOOC_FROM_EMAIL": value})


def test_email_url_outbox_is_the_default_form():
    config = parse_email_url("outbox:")
    assert config.kind == "outbox"
    assert config.name == "outbox"


def test_email_url_smtp_with_credentials_and_starttls():
    config = parse_email_url("smtp://me%40example.org:s3cr%2Ft@mail.example.org:2525?tls=starttls")
    assert (config.kind, config.host, config.port, config.tls) == ("smtp", "mail.example.org", 2525, "starttls")
    assert (config.username, config.password) == ("me@example.org", "s3cr/t")
    assert config.backend == "django.core.mail.backends.smtp.EmailBackend"


def test_email_url_smtp_default_ports_follow_the_tls_mode():
    assert parse_email_url("smtp://mail.example.org?tls=ssl").port == 465
    assert parse_email_url("smtp://mail.example.org?tls=starttls").port == 587
    assert parse_email_url("smtp://mail.example.org").port == 25
    assert parse_email_url("smtps://mail.example.org").tls == "ssl"


def test_email_url_anymail_provider():
    config = parse_email_url("anymail:mailgun")
    assert config.kind == "anymail"
    assert config.backend == "anymail.backends.mailgun.EmailBackend"
    assert config.name == "mailgun"


@pytest.mark.parametrize("value, message", [
    ("anymail:mailpigeon", "unknown provider 'mailpigeon'"),
    ("smtp://mail.example.org?tls=maybe", "tls must be starttls, ssl or none"),
    ("smtp://mail.example.org:port", "the port is not a number"),
    ("smtp://:25", "no host name"),
    ("http://mail.example.org", "expected outbox:, smtp://"),
    ("mailgun", "expected outbox:, smtp://"),
])
def test_email_url_names_what_is_wrong(value, message):
    with pytest.raises(ImproperlyConfigured, match=f"MMOOC_EMAIL_URL: .*{message}"):
        parse_email_url(value)
