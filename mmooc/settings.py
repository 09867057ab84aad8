"""Settings, all read from environment variables with embedded defaults.

Every variable is documented in docs/configuration.md. A bad value stops start-up with
one line naming the variable (see mmooc.lib.env).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from mmooc.lib.env import (
    anymail_settings,
    env_bool,
    env_choice,
    env_domain,
    env_email,
    env_float,
    env_int,
    env_intervals,
    env_list,
    env_networks,
    env_numbers,
    env_secret,
    env_str,
    env_url,
    parse_email_url,
)
from mmooc.lib.logs import FORMATS, LEVELS, logging_config

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("MMOOC_DATA_DIR", "./var")).resolve()


def _ensure_data_dir() -> None:
    try:
        (DATA_DIR / "static").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"MMOOC_DATA_DIR: cannot create {DATA_DIR}: {exc.strerror}") from None


def _secret_key(vendor: str) -> tuple[str, str]:
    """SECRET_KEY, and where it came from.

    From the environment (required with PostgreSQL: every machine must sign with the same
    key); otherwise, on SQLite, one generated once and kept in the data folder. PostgreSQL
    without one gets a key for this process only, which the check `operations.E001` refuses
    before anything serves with it."""
    if os.environ.get("SECRET_KEY"):
        if len(os.environ["SECRET_KEY"]) < 32:
            raise ImproperlyConfigured("SECRET_KEY: must be at least 32 characters long")
        return os.environ["SECRET_KEY"], "environment"
    if vendor != "sqlite3":
        return secrets.token_urlsafe(50), "missing"
    _ensure_data_dir()
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return path.read_text().strip(), "data folder"


def _database() -> dj_database_url.DBConfig:
    url = env_str("DATABASE_URL", "")
    if not url:
        _ensure_data_dir()
        url = f"sqlite:///{DATA_DIR / 'mmooc.sqlite3'}"
    if not url.startswith(("sqlite:", "postgres:", "postgresql:")):
        raise ImproperlyConfigured(
            f"DATABASE_URL: expected sqlite:///path or postgres://user@host/db, got {url!r}"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Connections are kept, as for PostgreSQL: opening one per request re-runs the pragmas
        # and reloads the schema, which costs more than the request itself.
        config["OPTIONS"] = {
            # WAL lets the web pages read while the engine writes; IMMEDIATE takes the write
            # lock at BEGIN so concurrent writers wait instead of failing mid-transaction.
            # A page cache of up to 32 MiB per connection (the default is 2 MiB) halves the
            # time of large inserts into indexed tables such as the outbox.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    elif not config.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL: no database name in {url!r}")
    return config


_ensure_data_dir()
DATABASES = {"default": _database()}
SECRET_KEY, SECRET_KEY_SOURCE = _secret_key(DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1])
DEBUG = env_bool("MMOOC_DEBUG", False)
BASE_URL = env_url("MMOOC_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
# Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (mmooc.lib.clients).
TRUSTED_PROXIES = env_networks("MMOOC_TRUSTED_PROXIES", [])
ALLOWED_HOSTS = env_list("MMOOC_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
DEFAULT_FROM_EMAIL = env_email("MMOOC_FROM_EMAIL", "Mechanical MOOC <course@course.example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
LIST_DOMAIN = env_domain("MMOOC_LIST_DOMAIN", "lists.course.example.org")
EMAIL_CONFIG = parse_email_url(env_str("MMOOC_EMAIL_URL", "outbox:"))
EMAIL_BACKEND = EMAIL_CONFIG.backend
if EMAIL_CONFIG.kind == "smtp":
    EMAIL_HOST = EMAIL_CONFIG.host
    EMAIL_PORT = EMAIL_CONFIG.port
    EMAIL_HOST_USER = EMAIL_CONFIG.username
    EMAIL_HOST_PASSWORD = EMAIL_CONFIG.password
    EMAIL_USE_TLS = EMAIL_CONFIG.tls == "starttls"
    EMAIL_USE_SSL = EMAIL_CONFIG.tls == "ssl"
    EMAIL_TIMEOUT = 30

# Provider settings: every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"], so the names
# are the ones anymail documents (ANYMAIL_MAILGUN_API_KEY, ANYMAIL_WEBHOOK_SECRET, …);
# values anymail wants as objects, booleans or numbers are read as JSON (lib/env.py).
ANYMAIL = anymail_settings()
# Postmark message streams (docs/mail.md): course and group mail on the broadcast stream,
# confirmations and notices on the transactional one. Empty: Postmark's default stream.
POSTMARK_BROADCAST_STREAM = env_str("MMOOC_POSTMARK_BROADCAST_STREAM", "broadcast")
POSTMARK_TRANSACTIONAL_STREAM = env_str("MMOOC_POSTMARK_TRANSACTIONAL_STREAM", "outbound")

# Delivery engine.
MAIL_RATE_LIMIT = env_float("MMOOC_MAIL_RATE", 0.0)  # messages per second, all workers; 0 = unlimited
MAIL_BATCH_SIZE = env_int("MMOOC_MAIL_BATCH", 500, minimum=1)
# The provider's quotas for the send planner (emails/planner.py): second, hour, day and
# domain_hour; keys left out take the provider's published defaults, 0 is no limit.
PROVIDER_QUOTAS = env_numbers("MMOOC_PROVIDER_QUOTAS", ("second", "hour", "day", "domain_hour"))
# Seconds between an idle engine's quick looks for new rows: the fallback when a wake-up
# (PostgreSQL NOTIFY, or a local socket on SQLite) does not reach it.
MAIL_POLL = env_float("MMOOC_MAIL_POLL", 0.25, minimum=0.01)
# Days finished outbox rows are kept before the retention job deletes them (counts stay).
OUTBOX_KEEP_DAYS = env_int("MMOOC_OUTBOX_KEEP_DAYS", 90, minimum=1)
# Seconds a message's counts per status may be old on the staff pages while its copies are
# still going out (the periodic job mailer.counts counts them again sooner); 0: counted at every look.
MAIL_COUNTS_SECONDS = env_int("MMOOC_MAIL_COUNTS_SECONDS", 120, minimum=0)
MAIL_MAX_ATTEMPTS = env_int("MMOOC_MAIL_MAX_ATTEMPTS", 8, minimum=1)
# Copies of a course email due at once are held this long after scheduling: the undo window.
SEND_UNDO_SECONDS = env_int("MMOOC_SEND_UNDO_SECONDS", 120, minimum=0)
MAIL_SOFT_BOUNCE_LIMIT = env_int("MMOOC_SOFT_BOUNCE_LIMIT", 5, minimum=1)
MAIL_SOFT_BOUNCE_DAYS = env_int("MMOOC_SOFT_BOUNCE_DAYS", 7, minimum=1)
# The circuit breaker per recipient domain (mailer/breaker.py): this many refusals for policy
# or reputation from one domain within the window pause sending to it; 0 turns it off.
MAIL_DOMAIN_PAUSE_AFTER = env_int("MMOOC_DOMAIN_PAUSE_AFTER", 20, minimum=0)
MAIL_DOMAIN_PAUSE_WINDOW = env_int("MMOOC_DOMAIN_PAUSE_WINDOW", 600, minimum=1)  # seconds
MAIL_DOMAIN_PAUSE_SECONDS = env_int("MMOOC_DOMAIN_PAUSE_SECONDS", 3600, minimum=1)
MAIL_PRICE_PER_1000 = env_float("MMOOC_MAIL_PRICE_PER_1000", 0.80)  # for the dashboard's cost estimate
MAIL_CURRENCY = env_str("MMOOC_MAIL_CURRENCY", "USD")

# Learners and groups.
LEARNER_CONFIRM_DAYS = env_int("MMOOC_CONFIRM_DAYS", 7, minimum=1)  # confirmation links expire
API_RATE = env_int("MMOOC_API_RATE", 600, minimum=1)  # API requests per token per minute
LEARNER_SIGNUP_RATE = env_int("MMOOC_SIGNUP_RATE", 5, minimum=1)  # signups per address per hour
# Signups from one client address (an IPv6 client by its /64), to one cohort, and
# confirmation emails to one recipient domain, per hour; a form posted sooner than this
# many seconds after it was shown is taken for a bot (mmooc.learners.registration).
LEARNER_SIGNUPS_PER_CLIENT_HOUR = env_int("MMOOC_SIGNUPS_PER_CLIENT_HOUR", 20, minimum=1)
LEARNER_SIGNUPS_PER_COHORT_HOUR = env_int("MMOOC_SIGNUPS_PER_COHORT_HOUR", 3000, minimum=1)
LEARNER_CONFIRMATIONS_PER_DOMAIN_HOUR = env_int("MMOOC_CONFIRMATIONS_PER_DOMAIN_HOUR", 1000, minimum=1)
LEARNER_SIGNUP_MIN_SECONDS = env_int("MMOOC_SIGNUP_MIN_SECONDS", 2, minimum=0)
GROUP_MIN_SIZE = env_int("MMOOC_MIN_GROUP_SIZE", 5, minimum=1)  # smaller groups join their neighbours
LIST_MAX_POST_BYTES = env_int("MMOOC_LIST_MAX_POST_MB", 10, minimum=1) * 1024 * 1024
# A post over the limit but at most this big is held for staff to decide (too big), not refused.
LIST_MAX_HELD_POST_BYTES = env_int("MMOOC_LIST_MAX_HELD_POST_MB", 4 * LIST_MAX_POST_BYTES // (1024 * 1024),
                                   minimum=LIST_MAX_POST_BYTES // (1024 * 1024)) * 1024 * 1024
# `mmooc worker` and `mmooc lmtp` on PostgreSQL: a session of theirs left idle inside a
# transaction this long (its machine died mid-batch) is ended by the server, so its row
# locks stop holding up the other workers. 0 turns the bound off.
SERVICE_IDLE_TRANSACTION_SECONDS = env_int("MMOOC_SERVICE_IDLE_TRANSACTION_SECONDS", 30, minimum=0)
LMTP_HOST = env_str("MMOOC_LMTP_HOST", "127.0.0.1")
LMTP_PORT = env_int("MMOOC_LMTP_PORT", 8024, minimum=0)
SOCKETMAP_HOST = env_str("MMOOC_SOCKETMAP_HOST", "127.0.0.1")  # Postfix's recipient lookups
SOCKETMAP_PORT = env_int("MMOOC_SOCKETMAP_PORT", 8026, minimum=0)

# Periodic jobs' intervals in seconds, by job name, where the built-in ones do not suit.
PERIODIC_EVERY = env_intervals("MMOOC_PERIODIC_EVERY")
# Outgoing webhooks (mmooc.hooks): private and loopback receivers only when allowed.
WEBHOOKS_ALLOW_PRIVATE = env_bool("MMOOC_WEBHOOKS_ALLOW_PRIVATE", False)
WEBHOOKS_TIMEOUT = env_float("MMOOC_WEBHOOKS_TIMEOUT", 10.0, minimum=0.1)
WEBHOOKS_MAX_ATTEMPTS = env_int("MMOOC_WEBHOOKS_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOKS_DISABLE_AFTER_HOURS = env_int("MMOOC_WEBHOOKS_DISABLE_AFTER_HOURS", 72, minimum=1)

# Watching it run: /metrics (off unless a token or addresses are set) and /healthz.
METRICS_TOKEN = env_secret("MMOOC_METRICS_TOKEN")
METRICS_ALLOW = env_networks("MMOOC_METRICS_ALLOW", [])
# Seconds without a heartbeat from any delivery engine, while mail is due, before /healthz answers 503.
HEALTH_ENGINE_STALE = env_int("MMOOC_HEALTH_ENGINE_STALE", 300, minimum=30)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "anymail",
    "mmooc.operations",
    "mmooc.audit",
    "mmooc.mailer",
    "mmooc.courses",
    "mmooc.learners",
    "mmooc.groups",
    "mmooc.checkins",
    "mmooc.lists",
    "mmooc.emails",
    "mmooc.dashboard",
    "mmooc.hooks",
    "mmooc.api",
    "mmooc.insights",
    "mmooc.site",
]

MIDDLEWARE = [
    "mmooc.lib.clients.TrustedProxyMiddleware",
    "mmooc.lib.requestsize.RequestSizeLimit",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "mmooc.lib.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The visitor's language from Accept-Language (a learner's own pages switch to theirs).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mmooc.urls"
WSGI_APPLICATION = "mmooc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["mmooc.lib.clocktags"],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/dashboard/login/"
LOGIN_REDIRECT_URL = "/dashboard/"

CACHES = {
    "default": {
        # Per-process memory cache, for what one process may keep to itself (rate limits
        # are counted in the database: mmooc.operations.ratelimits).
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "mmooc",
    }
}

LANGUAGE_CODE = "en"
# The languages the pages and built-in emails are translated into (docs/translating.md).
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# Each warning of `mmooc check --deploy` is answered by one of these; docs/operations.md
# gives the production values.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("MMOOC_SECURE_COOKIES", BASE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# With an https base URL, browsers are told to use HTTPS only (a year) and plain HTTP is
# redirected, unless turned off; with http, both are off unless turned on.
https_site = BASE_URL.startswith("https://")
SECURE_HSTS_SECONDS = env_int("MMOOC_HSTS_SECONDS", 31536000 if https_site else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("MMOOC_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("MMOOC_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("MMOOC_SSL_REDIRECT", https_site)
# Monitoring on the machine itself may ask over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SILENCED_SYSTEM_CHECKS = env_list("MMOOC_SILENCED_CHECKS", [])
CSRF_TRUSTED_ORIGINS = [BASE_URL]
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"  # learners' links carry tokens: never sent to another site
# No script but the site's own files: no inline script, no handler attribute, no eval.
# Inline styles stay allowed: pages set widths of bars in style attributes, the charts are
# inline SVG with their own <style>, and an email's HTML shown in the outbox is styled
# inline; styles cannot run code. Images may come from any https site: course emails shown
# in previews and the outbox link to them. Only the signup embed may be framed (its view).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "https:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page uses, switched off for every page and anything it frames.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# Request bodies (mmooc/lib/requestsize.py): 5 MiB for pages; a provider's inbound webhook
# carries a whole group post (up to the size a post may be held at), encoded and often twice
# (raw and parsed), so it may bring three times that; Django's own limit is the larger of the two.
REQUEST_MAX_BYTES = 5 * 1024 * 1024
INBOUND_WEBHOOK_MAX_BYTES = max(REQUEST_MAX_BYTES, 3 * LIST_MAX_HELD_POST_BYTES)
DATA_UPLOAD_MAX_MEMORY_SIZE = INBOUND_WEBHOOK_MAX_BYTES

LOGGING = logging_config(level=env_choice("MMOOC_LOG_LEVEL", "INFO", LEVELS),
                         fmt=env_choice("MMOOC_LOG_FORMAT", "text", FORMATS))
