"""Strict readers for configuration from environment variables.

Each raises ImproperlyConfigured naming the variable when its value is unusable, so a
bad deployment stops at start-up with one clear line instead of failing later.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name, default)


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    if name not in environ:
        return default
    value = environ[name].strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}: expected a yes/no value (1, 0, true, false), got {environ[name]!r}")


def env_int(
    name: str, default: int, environ: Mapping[str, str] | None = None, *, minimum: int | None = None
) -> int:
    environ = os.environ if environ is None else environ
    if name not in environ:
        return default
    try:
        value = int(environ[name])
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {environ[name]!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_float(
    name: str, default: float, environ: Mapping[str, str] | None = None, *, minimum: float = 0.0
) -> float:
    environ = os.environ if environ is None else environ
    if name not in environ:
        return default
    try:
        value = float(environ[name])
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a number, got {environ[name]!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    environ = os.environ if environ is None else environ
    if name not in environ:
        return default
    return [part.strip() for part in environ[name].split(",") if part.strip()]


def env_intervals(name: str, environ: Mapping[str, str] | None = None) -> dict[str, float]:
    """`job=seconds` pairs, comma-separated (`lists.digest=600, learners.purge=60`)."""
    intervals: dict[str, float] = {}
    for part in env_list(name, [], environ):
        job, sep, seconds = part.partition("=")
        try:
            value = float(seconds) if sep and job.strip() else -1.0
        except ValueError:
            value = -1.0
        if not value >= 1:  # also refuses nan
            raise ImproperlyConfigured(f"{name}: expected job=seconds pairs with at least 1 second, "
                                       f"like lists.digest=600, got {part!r}")
        intervals[job.strip()] = value
    return intervals


def env_numbers(name: str, keys: tuple[str, ...], environ: Mapping[str, str] | None = None) -> dict[str, float]:
    """`key=number` pairs, comma-separated, each key one of `keys`, each number 0 or more
    (`second=14, day=50000`); keys left out are not in the result."""
    numbers: dict[str, float] = {}
    for part in env_list(name, [], environ):
        key, sep, text = (x.strip() for x in part.partition("="))
        try:
            value = float(text) if sep and key in keys else -1.0
        except ValueError:
            value = -1.0
        if not (value >= 0 and math.isfinite(value)):
            raise ImproperlyConfigured(f"{name}: expected key=number pairs with keys among {', '.join(keys)} and "
                                       f"numbers of 0 or more, like {keys[0]}=10, got {part!r}")
        numbers[key] = value
    return numbers


def env_choice(name: str, default: str, choices: tuple[str, ...],
               environ: Mapping[str, str] | None = None) -> str:
    """One of `choices`, read without regard to case (levels are upper-case, formats lower)."""
    environ = os.environ if environ is None else environ
    value = environ.get(name, default).strip()
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ImproperlyConfigured(f"{name}: expected one of {', '.join(choices)}, got {value!r}")


def env_secret(name: str, environ: Mapping[str, str] | None = None, *, minimum: int = 16) -> str:
    """A shared secret (a token, a key): empty when unset, else at least `minimum` characters."""
    environ = os.environ if environ is None else environ
    value = environ.get(name, "").strip()
    if value and len(value) < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum} characters long")
    return value


def env_url(
    name: str, default: str, environ: Mapping[str, str] | None = None, *, schemes: tuple[str, ...]
) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get(name, default).strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        allowed = " or ".join(f"{s}://…" for s in schemes)
        raise ImproperlyConfigured(f"{name}: expected a URL like {allowed}, got {value!r}")
    return value.rstrip("/")


def env_domain(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get(name, default).strip().lower()
    labels = value.split(".")
    if len(labels) < 2 or not all(_is_label(label) for label in labels):
        raise ImproperlyConfigured(
            f"{name}: expected a domain name like lists.example.org, got {value!r}")
    return value


def _is_label(label: str) -> bool:
    return 0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()


def env_email(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """A From address, optionally with a display name: `Course Team <team@example.org>`."""
    from email.utils import parseaddr

    environ = os.environ if environ is None else environ
    value = environ.get(name, default).strip()
    if "\n" in value or "\r" in value:
        raise ImproperlyConfigured(f"{name}: must be on one line")
    _, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain:
        raise ImproperlyConfigured(f"{name}: expected an address like Course <team@example.org>, got {value!r}")
    return value


# Providers that django-anymail ships, by the name used in `anymail:<provider>`.
ANYMAIL_PROVIDERS = {
    "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",
    "brevo": "anymail.backends.brevo.EmailBackend",
    "mailersend": "anymail.backends.mailersend.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "mailjet": "anymail.backends.mailjet.EmailBackend",
    "mandrill": "anymail.backends.mandrill.EmailBackend",
    "postal": "anymail.backends.postal.EmailBackend",
    "postmark": "anymail.backends.postmark.EmailBackend",
    "resend": "anymail.backends.resend.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
    "sparkpost": "anymail.backends.sparkpost.EmailBackend",
    "unisender_go": "anymail.backends.unisender_go.EmailBackend",
}
SMTP_TLS_MODES = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class EmailConfig:
    """What MMOOC_EMAIL_URL says: where mail goes."""

    kind: str  # "outbox", "smtp" or "anymail"
    provider: str = ""
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""
    tls: str = "none"
    options: dict[str, str] = field(default_factory=dict)

    @property
    def backend(self) -> str:
        if self.kind == "anymail":
            return ANYMAIL_PROVIDERS[self.provider]
        if self.kind == "smtp":
            return "django.core.mail.backends.smtp.EmailBackend"
        return "django.core.mail.backends.locmem.EmailBackend"

    @property
    def name(self) -> str:
        """The rate-limit and reporting key: `outbox`, `smtp` or the provider name."""
        return self.provider if self.kind == "anymail" else self.kind


def parse_email_url(value: str, name: str = "MMOOC_EMAIL_URL") -> EmailConfig:
    value = value.strip()
    if value in ("outbox:", "outbox", "outbox://"):
        return EmailConfig(kind="outbox")
    if value.startswith("anymail:"):
        provider = value.removeprefix("anymail:").strip("/").lower()
        if provider not in ANYMAIL_PROVIDERS:
            known = ", ".join(sorted(ANYMAIL_PROVIDERS))
            raise ImproperlyConfigured(f"{name}: unknown provider {provider!r}; known providers: {known}")
        return EmailConfig(kind="anymail", provider=provider)
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(
            f"{name}: expected outbox:, smtp://user:pass@host:port?tls=starttls|ssl|none "
            f"or anymail:<provider>, got {value!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: the port is not a number in {value!r}") from None
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name}: no host name in {value!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    tls = query.pop("tls", "ssl" if parts.scheme == "smtps" else "none").lower()
    if tls not in SMTP_TLS_MODES:
        raise ImproperlyConfigured(f"{name}: tls must be starttls, ssl or none, got {tls!r}")
    default_port = {"ssl": 465, "starttls": 587}.get(tls, 25)
    return EmailConfig(
        kind="smtp",
        host=parts.hostname,
        port=port or default_port,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        tls=tls,
        options=query,
    )



def env_networks(name: str, default: list[str], environ: Mapping[str, str] | None = None,
                 ) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network | str]:
    """Comma-separated addresses or networks (`127.0.0.1, 10.0.0.0/8, ::1`), and the word
    `unix` for a peer on a Unix socket."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network | str] = []
    for part in env_list(name, default, environ):
        if part.lower() == "unix":
            networks.append("unix")
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: expected addresses or networks like 127.0.0.1 or "
                                       f"10.0.0.0/8 (or unix), got {part!r}") from None
    return networks

# --- ANYMAIL_<NAME> variables ------------------------------------------------------------
#
# anymail reads its settings as Python values: a string where it wants a dict or a bool
# breaks it (a dict's .copy() on a str) or silently means something else ("False" is
# true). Each setting anymail reads that is not text is listed here by its name, or by
# the end of its name after the provider's (SEND_DEFAULTS is also POSTMARK_SEND_DEFAULTS).
# Everything else (keys, tokens, URLs, domains, ids) stays text, even when it looks
# like a number. docs/configuration.md carries the same table.
BOOLEAN, OBJECT, SECONDS, WHOLE, SECRETS, REFUSED = "boolean", "object", "seconds", "whole", "secrets", "refused"
ANYMAIL_TYPES: dict[str, str] = {
    "IGNORE_UNSUPPORTED_FEATURES": BOOLEAN,
    "IGNORE_RECIPIENT_STATUS": BOOLEAN,
    "DEBUG_API_REQUESTS": BOOLEAN,
    "USE_BULK_API": BOOLEAN,  # Postmark
    "GENERATE_MESSAGE_ID": BOOLEAN,  # Postmark, SendGrid, Unisender Go
    "WORKAROUND_DISPLAY_NAME_BUGS": BOOLEAN,  # Brevo, Unisender Go
    "PREVENT_HEADER_ENCODING_BUGS": BOOLEAN,  # Brevo
    "VERIFY_ATTACHMENT_EXTENSIONS": BOOLEAN,  # Resend
    "AUTO_CONFIRM_SNS_SUBSCRIPTIONS": BOOLEAN,  # Amazon SES webhooks
    "TRACK_INITIAL_OPEN_AS_OPENED": BOOLEAN,  # SparkPost webhooks
    "SEND_DEFAULTS": OBJECT,
    "SESSION_PARAMS": OBJECT,  # Amazon SES: boto3.session.Session(**params)
    "CLIENT_PARAMS": OBJECT,  # Amazon SES: session.client(**params)
    "REQUESTS_TIMEOUT": SECONDS,  # a number, or [connect, read]
    "DOWNLOAD_CHUNK_SIZE": WHOLE,
    "WEBHOOK_SECRET": SECRETS,  # user:password, two separated by a comma while rotating
    "IDNA_ENCODER": REFUSED,  # a Python function
}


def anymail_settings(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """The ANYMAIL setting: every ANYMAIL_<NAME> variable as <NAME>, typed per ANYMAIL_TYPES."""
    environ = os.environ if environ is None else environ
    return {name.removeprefix("ANYMAIL_"): _anymail_value(name, value)
            for name, value in environ.items() if name.startswith("ANYMAIL_")}


def _anymail_type(setting: str) -> str:
    for suffix, kind in ANYMAIL_TYPES.items():
        if setting == suffix or setting.endswith("_" + suffix):
            return kind
    return "text"


def _anymail_value(name: str, value: str) -> object:
    kind = _anymail_type(name.removeprefix("ANYMAIL_"))
    if kind == BOOLEAN:
        word = value.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS or not word:
            raise ImproperlyConfigured(f"{name}: expected true or false, got {value!r}")
        return word in TRUE_WORDS
    if kind == SECRETS:
        return [part.strip() for part in value.split(",") if part.strip()]
    if kind == REFUSED:
        raise ImproperlyConfigured(f"{name}: cannot be set from the environment (anymail expects a Python function)")
    return value if kind == "text" else _anymail_json(name, kind, value)


def _anymail_json(name: str, kind: str, value: str) -> object:
    import json

    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        if kind == OBJECT:  # without the value: client parameters may hold credentials
            raise ImproperlyConfigured(f"{name}: expected a JSON object like {{\"region_name\": \"eu-west-1\"}} "
                                       f"({exc.msg} at line {exc.lineno} column {exc.colno})") from None
        parsed = None
    if kind == OBJECT and not isinstance(parsed, dict):
        raise ImproperlyConfigured(f"{name}: expected a JSON object like {{\"region_name\": \"eu-west-1\"}}")
    if kind == WHOLE and (isinstance(parsed, bool) or not isinstance(parsed, int)):
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}")
    if kind == SECONDS and not _seconds(parsed):
        raise ImproperlyConfigured(f"{name}: expected a number of seconds, or [connect, read] seconds, got {value!r}")
    return parsed


def _seconds(value: object) -> bool:
    def number(v: object) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and v > 0

    return number(value) or (isinstance(value, list) and len(value) == 2 and all(map(number, value)))
