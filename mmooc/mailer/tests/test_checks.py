"""Mail configuration refused before start: a provider without its key, open webhooks."""

from __future__ import annotations

import base64
import sys
from importlib import import_module

import pytest
from anymail.exceptions import AnymailConfigurationError
from django.test import RequestFactory

from mmooc.lib.env import ANYMAIL_PROVIDERS, parse_email_url
from mmooc.mailer.checks import (
    PROVIDER_KEYS,
    WEBHOOK_KEYS,
    provider_is_configured,
    unused_webhooks_are_closed,
    webhooks_are_protected,
)

SECRET = "mmooc:a-long-webhook-password"


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def configure(settings, provider: str, **anymail: object) -> None:
    settings.EMAIL_CONFIG = parse_email_url(f"anymail:{provider}")
    settings.EMAIL_BACKEND = settings.EMAIL_CONFIG.backend
    settings.ANYMAIL = anymail


def complete(provider: str) -> dict[str, object]:
    keys = PROVIDER_KEYS[provider] + WEBHOOK_KEYS.get(provider, ())
    return {f"{provider.upper()}_{k}": "k-" + k.lower() for k in keys} | {"WEBHOOK_SECRET": [SECRET]}


def test_every_provider_the_settings_know_has_its_keys_listed():
    assert set(PROVIDER_KEYS) == set(ANYMAIL_PROVIDERS)


@pytest.mark.parametrize("url", ["outbox:", "smtp://mail.example.org:587?tls=starttls"])
def test_outbox_and_smtp_need_no_provider_key(settings, url):
    settings.EMAIL_CONFIG = parse_email_url(url)
    settings.ANYMAIL = {}
    assert provider_is_configured(None) == [] and webhooks_are_protected(None) == []


@pytest.mark.parametrize("provider", sorted(PROVIDER_KEYS))
def test_a_provider_with_its_keys_passes(settings, provider):
    configure(settings, provider, **complete(provider))
    assert provider_is_configured(None) == [] and webhooks_are_protected(None) == []


@pytest.mark.parametrize("provider", sorted(p for p, keys in PROVIDER_KEYS.items() if keys))
def test_a_provider_without_its_keys_is_refused_naming_them(settings, provider):
    configure(settings, provider, **{k: v for k, v in complete(provider).items()
                                     if k.removeprefix(provider.upper() + "_") not in PROVIDER_KEYS[provider]})
    [error] = provider_is_configured(None)
    assert error.id == "mailer.E002" and error.is_serious()
    for key in PROVIDER_KEYS[provider]:
        assert f"ANYMAIL_{provider.upper()}_{key}" in error.msg


def test_an_empty_key_counts_as_missing(settings):
    configure(settings, "postmark", POSTMARK_SERVER_TOKEN="", WEBHOOK_SECRET=[SECRET])
    assert ids(provider_is_configured(None)) == ["mailer.E002"]


@pytest.mark.parametrize("provider", sorted(PROVIDER_KEYS))
def test_the_provider_keys_are_exactly_what_anymail_cannot_start_without(settings, provider):
    backend = import_module(ANYMAIL_PROVIDERS[provider].rpartition(".")[0]).EmailBackend
    configure(settings, provider, **complete(provider))
    backend()  # everything listed: it starts
    for key in PROVIDER_KEYS[provider]:
        configure(settings, provider, **{k: v for k, v in complete(provider).items()
                                         if k != f"{provider.upper()}_{key}"})
        with pytest.raises(AnymailConfigurationError):
            backend()


def test_a_provider_without_the_webhook_secret_is_refused(settings):
    configure(settings, "postmark", POSTMARK_SERVER_TOKEN="token")
    assert ids(webhooks_are_protected(None)) == ["mailer.E003"]


@pytest.mark.parametrize("provider", sorted(WEBHOOK_KEYS))
def test_a_provider_that_signs_its_webhooks_needs_the_key(settings, provider):
    configure(settings, provider, **{k: v for k, v in complete(provider).items()
                                     if k.removeprefix(provider.upper() + "_") not in WEBHOOK_KEYS[provider]})
    [error] = webhooks_are_protected(None)
    assert error.id == "mailer.E004" and f"ANYMAIL_{provider.upper()}_{WEBHOOK_KEYS[provider][0]}" in error.msg


@pytest.mark.parametrize("provider", sorted(WEBHOOK_KEYS))
def test_the_webhook_keys_are_what_anymail_refuses_events_without(settings, provider):
    webhooks = import_module(f"anymail.webhooks.{provider}")
    view = next(getattr(webhooks, name) for name in dir(webhooks) if name.endswith("TrackingWebhookView"))
    configure(settings, provider, WEBHOOK_SECRET=[SECRET])  # no API key either: Mailgun falls back to it
    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    request = RequestFactory().post(f"/anymail/{provider}/tracking/", data=b"{}", content_type="application/json",
                                    HTTP_AUTHORIZATION=auth)
    with pytest.raises(AnymailConfigurationError):
        view.as_view()(request)


def test_unused_webhooks_without_a_secret_are_a_deploy_warning(settings):
    settings.EMAIL_CONFIG = parse_email_url("smtp://mail.example.org:25")
    settings.ANYMAIL = {}
    [warning] = unused_webhooks_are_closed(None)
    assert warning.id == "mailer.W001" and not warning.is_serious()
    settings.ANYMAIL = {"WEBHOOK_SECRET": [SECRET]}
    assert unused_webhooks_are_closed(None) == []


def test_a_missing_provider_package_is_refused(settings, monkeypatch):
    import builtins

    configure(settings, "amazon_ses", WEBHOOK_SECRET=[SECRET])
    real_import = builtins.__import__

    def without_boto3(name, *args, **kwargs):
        if name.startswith("boto3") or name.startswith("anymail.backends.amazon_ses"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_boto3)
    monkeypatch.delitem(sys.modules, "anymail.backends.amazon_ses", raising=False)
    [error] = provider_is_configured(None)
    assert error.id == "mailer.E001" and "anymail:amazon_ses cannot be used" in error.msg
