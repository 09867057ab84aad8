from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mmooc.lib.env import (
    ANYMAIL_TYPES,
    anymail_settings,
    env_bool,
    env_domain,
    env_email,
    env_float,
    env_int,
    env_intervals,
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


# --- ANYMAIL_* variables --------------------------------------------------------------------

def test_anymail_settings_take_every_anymail_variable_without_the_prefix():
    seen = anymail_settings({"ANYMAIL_POSTMARK_SERVER_TOKEN": "abc", "MMOOC_DEBUG": "1"})
    assert seen == {"POSTMARK_SERVER_TOKEN": "abc"}


@pytest.mark.parametrize("value, expected", [("False", False), ("false", False), ("0", False), ("no", False),
                                             ("True", True), ("true", True), ("1", True), ("yes", True)])
def test_anymail_yes_no_settings_are_booleans(value, expected):
    seen = anymail_settings({"ANYMAIL_IGNORE_RECIPIENT_STATUS": value, "ANYMAIL_POSTMARK_USE_BULK_API": value})
    assert seen["IGNORE_RECIPIENT_STATUS"] is expected
    assert seen["POSTMARK_USE_BULK_API"] is expected


def test_anymail_object_settings_are_read_as_json():
    seen = anymail_settings({
        "ANYMAIL_AMAZON_SES_CLIENT_PARAMS": '{"region_name": "eu-west-1", "config": {"retries": {"max_attempts": 3}}}',
        "ANYMAIL_SEND_DEFAULTS": '{"tags": ["course"], "track_clicks": false}',
        "ANYMAIL_POSTMARK_SEND_DEFAULTS": '{"esp_extra": {"MessageStream": "broadcast"}}',
    })
    assert seen["AMAZON_SES_CLIENT_PARAMS"] == {"region_name": "eu-west-1",
                                                "config": {"retries": {"max_attempts": 3}}}
    assert seen["SEND_DEFAULTS"] == {"tags": ["course"], "track_clicks": False}
    assert seen["POSTMARK_SEND_DEFAULTS"] == {"esp_extra": {"MessageStream": "broadcast"}}


def test_anymail_numbers_are_numbers():
    seen = anymail_settings({"ANYMAIL_REQUESTS_TIMEOUT": "12.5", "ANYMAIL_AMAZON_SES_DOWNLOAD_CHUNK_SIZE": "65536"})
    assert seen == {"REQUESTS_TIMEOUT": 12.5, "AMAZON_SES_DOWNLOAD_CHUNK_SIZE": 65536}
    assert anymail_settings({"ANYMAIL_REQUESTS_TIMEOUT": "[3.05, 27]"})["REQUESTS_TIMEOUT"] == [3.05, 27]


def test_anymail_keys_that_look_like_numbers_stay_text():
    seen = anymail_settings({"ANYMAIL_MAILGUN_API_KEY": "12345", "ANYMAIL_MAILTRAP_SANDBOX_ID": "42",
                             "ANYMAIL_POSTAL_API_URL": "true"})
    assert seen == {"MAILGUN_API_KEY": "12345", "MAILTRAP_SANDBOX_ID": "42", "POSTAL_API_URL": "true"}


def test_anymail_webhook_secret_takes_two_values_while_rotating():
    seen = anymail_settings({"ANYMAIL_WEBHOOK_SECRET": "new:secret1, old:secret0,"})
    assert seen["WEBHOOK_SECRET"] == ["new:secret1", "old:secret0"]


@pytest.mark.parametrize("name, value, message", [
    ("ANYMAIL_AMAZON_SES_CLIENT_PARAMS", "region_name=eu-west-1", "expected a JSON object"),
    ("ANYMAIL_AMAZON_SES_CLIENT_PARAMS", '["eu-west-1"]', "expected a JSON object"),
    ("ANYMAIL_SEND_DEFAULTS", '{"tags": ["course"]', "expected a JSON object"),
    ("ANYMAIL_IGNORE_RECIPIENT_STATUS", "perhaps", "expected true or false"),
    ("ANYMAIL_REQUESTS_TIMEOUT", "soon", "expected a number of seconds"),
    ("ANYMAIL_REQUESTS_TIMEOUT", "[1, 2, 3]", "expected a number of seconds"),
    ("ANYMAIL_AMAZON_SES_DOWNLOAD_CHUNK_SIZE", "1.5", "expected a whole number"),
    ("ANYMAIL_IDNA_ENCODER", "idna", "cannot be set from the environment"),
])
def test_a_bad_anymail_value_names_the_variable(name, value, message):
    with pytest.raises(ImproperlyConfigured, match=f"^{name}: {message}"):
        anymail_settings({name: value})


def test_a_bad_anymail_object_is_not_repeated_in_the_error():
    # Client parameters may hold AWS credentials: the message says where the JSON breaks, not what it holds.
    with pytest.raises(ImproperlyConfigured) as caught:
        anymail_settings({"ANYMAIL_AMAZON_SES_CLIENT_PARAMS": '{"aws_secret_access_key": "s3cr3t"'})
    assert "s3cr3t" not in str(caught.value)
    assert "line 1 column" in str(caught.value)


def test_every_typed_anymail_setting_is_one_anymail_reads():
    """The table names settings anymail's source asks for, so a typo in it cannot hide."""
    import ast
    from pathlib import Path

    import anymail

    asked: set[str] = set()
    for path in Path(anymail.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "get_anymail_setting"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                asked.add(node.args[0].value.upper())
    assert {suffix for suffix in ANYMAIL_TYPES} <= asked


def test_env_intervals_reads_job_seconds_pairs():
    env = {"MMOOC_PERIODIC_EVERY": " lists.digest=600 , learners.purge=1.5,"}
    assert env_intervals("MMOOC_PERIODIC_EVERY", env) == {"lists.digest": 600.0, "learners.purge": 1.5}
    assert env_intervals("MMOOC_PERIODIC_EVERY", {}) == {}


@pytest.mark.parametrize("value", ["lists.digest", "lists.digest=", "=60", "lists.digest=soon",
                                   "lists.digest=0", "lists.digest=-5", "lists.digest=nan", "a=1,b"])
def test_env_intervals_refuses_what_is_no_interval_naming_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="MMOOC_PERIODIC_EVERY: expected job=seconds"):
        env_intervals("MMOOC_PERIODIC_EVERY", {"MMOOC_PERIODIC_EVERY": value})
