"""Mail configuration that cannot work, refused before anything starts.

PROVIDER_KEYS lists the settings each anymail backend cannot start without (those it
reads with no default: anymail's backends/<provider>.py); WEBHOOK_KEYS the ones its
webhooks cannot check a request without. A test holds both tables to anymail's code.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import NoReverseMatch, reverse

PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "amazon_ses": (),  # AWS credentials come from boto3's own chain (AWS_* variables, a role)
    "brevo": ("API_KEY",),
    "mailersend": ("API_TOKEN",),
    "mailgun": ("API_KEY",),
    "mailjet": ("API_KEY", "SECRET_KEY"),
    "mandrill": ("API_KEY",),
    "postal": ("API_KEY", "API_URL"),
    "postmark": ("SERVER_TOKEN",),
    "resend": ("API_KEY",),
    "sendgrid": ("API_KEY",),
    "sparkpost": ("API_KEY",),
    "unisender_go": ("API_KEY", "API_URL"),
}
# Providers that sign their webhooks: without the key, every event is refused (or a 500).
# Mailgun's falls back to the API key in anymail, but Mailgun signs with a key of its own.
WEBHOOK_KEYS: dict[str, tuple[str, ...]] = {
    "mailgun": ("WEBHOOK_SIGNING_KEY",),
    "mailersend": ("SIGNING_SECRET",),
    "mandrill": ("WEBHOOK_KEY",),
    "postal": ("WEBHOOK_KEY",),
}


def _missing(provider: str, names: tuple[str, ...]) -> list[str]:
    anymail = getattr(settings, "ANYMAIL", {}) or {}
    return [f"ANYMAIL_{provider.upper()}_{n}" for n in names if not anymail.get(f"{provider.upper()}_{n}")]


def _provider() -> str:
    config = settings.EMAIL_CONFIG
    return config.provider if config.kind == "anymail" else ""


@register()
def provider_is_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    provider = _provider()
    if not provider:
        return []
    try:
        import_module(settings.EMAIL_BACKEND.rpartition(".")[0])
    except ImportError as exc:
        return [Error(f"MMOOC_EMAIL_URL=anymail:{provider} cannot be used: {exc}",
                      hint="Install the provider's extra, e.g. pip install 'mmooc[amazon-ses]'.",
                      id="mailer.E001")]
    missing = _missing(provider, PROVIDER_KEYS[provider])
    if not missing:
        return []
    return [Error(f"MMOOC_EMAIL_URL=anymail:{provider} needs {' and '.join(missing)}: no mail can be sent without.",
                  hint="Set it in the environment (see docs/mail.md for where the provider shows it).",
                  id="mailer.E002")]


def webhooks_routed() -> bool:
    try:
        reverse("anymail:postmark_tracking_webhook")
    except NoReverseMatch:
        return False
    return True


# Tagged `urls`: it reads the URL configuration; the processes that serve no page skip it
# (mmooc.lib.startup.PagelessCommand), the web server and `mmooc check` run it.
@register(Tags.urls)
def webhooks_are_protected(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not webhooks_routed():
        return []
    provider = _provider()
    secret = (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET")
    problems: list[CheckMessage] = []
    if provider and not secret:
        problems.append(Error(
            f"ANYMAIL_WEBHOOK_SECRET is not set: the webhooks of anymail:{provider} at /anymail/{provider}/ "
            "would take bounces, complaints and group posts from anyone.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and give the provider "
                 "https://user:password@<host>/anymail/<provider>/tracking/ (docs/webhooks.md).",
            id="mailer.E003"))
    missing = _missing(provider, WEBHOOK_KEYS.get(provider, ()))
    if missing:
        problems.append(Error(
            f"anymail:{provider} signs its webhooks, and {' and '.join(missing)} is not set: "
            "every event it sends would be refused.",
            hint="Copy the webhook signing key from the provider's webhook settings (docs/webhooks.md).",
            id="mailer.E004"))
    return problems


@register(deploy=True)
def unused_webhooks_are_closed(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    secret = (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET")
    problems: list[CheckMessage] = []
    if webhooks_routed() and not _provider() and not secret:
        problems.append(Warning(
            "Provider webhooks are routed at /anymail/ and ANYMAIL_WEBHOOK_SECRET is not set: anyone could "
            "post events or group posts there as if from a provider.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=user:password (a long random password), even if no provider "
                 "calls them.",
            id="mailer.W001"))
    return problems
