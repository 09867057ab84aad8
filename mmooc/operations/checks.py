"""Configuration that cannot work, refused before anything starts (`mmooc check`, and the
start of `mmooc serve`, `worker`, `lmtp` and the WSGI application)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def secret_key_is_shared(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.SECRET_KEY_SOURCE != "missing":
        return []
    return [Error(
        "SECRET_KEY is not set, and the database is PostgreSQL: each machine would sign links, "
        "sessions and bounce addresses with a key of its own, which the others reject.",
        hint="Set SECRET_KEY (at least 50 random characters) to the same value on every machine, e.g. "
             "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'. A site that ran on SQLite "
             "before keeps its links working with the key in $MMOOC_DATA_DIR/secret_key.",
        id="operations.E001")]


@register()
def https_cookies_are_secure(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not settings.BASE_URL.startswith("https://"):
        return []
    if settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE:
        return []
    return [Error(
        f"MMOOC_BASE_URL is {settings.BASE_URL} but cookies are not marked secure "
        "(MMOOC_SECURE_COOKIES is off): staff sessions could leak over plain HTTP.",
        hint="Remove MMOOC_SECURE_COOKIES, or set it to 1.",
        id="operations.E002")]
