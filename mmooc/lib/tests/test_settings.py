"""Settings as a process sees them: each variable's effect, and one clear line on a bad value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PRINT_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "options": db.get("OPTIONS", {}),
    "debug": settings.DEBUG, "base_url": settings.BASE_URL, "hosts": settings.ALLOWED_HOSTS,
    "from": settings.DEFAULT_FROM_EMAIL, "list_domain": settings.LIST_DOMAIN,
    "backend": settings.EMAIL_BACKEND, "email_kind": settings.EMAIL_CONFIG.kind,
    "secret": settings.SECRET_KEY, "anymail": settings.ANYMAIL,
}))
"""


def run_mmooc(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("MMOOC_", "ANYMAIL_"))
               and k not in ("DATABASE_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    environ.update({"MMOOC_DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "mmooc.settings"})
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "mmooc.cli", *args], env=environ, capture_output=True,
                          text=True, timeout=120)


def settings_seen(tmp_path: Path, **env: str) -> dict:
    result = run_mmooc(["shell", "--no-imports", "-c", PRINT_SETTINGS], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_defaults_need_nothing_but_a_data_dir(tmp_path):
    seen = settings_seen(tmp_path)
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["name"] == str(tmp_path / "data" / "mmooc.sqlite3")
    assert "journal_mode=WAL" in seen["options"]["init_command"]
    assert seen["debug"] is False
    assert seen["base_url"] == "http://127.0.0.1:8000"
    assert seen["email_kind"] == "outbox"
    assert "127.0.0.1" in seen["hosts"]


def test_the_secret_key_is_generated_once_and_kept(tmp_path):
    first = settings_seen(tmp_path)["secret"]
    second = settings_seen(tmp_path)["secret"]
    assert first == second
    assert len(first) >= 50
    assert (tmp_path / "data" / "secret_key").read_text().strip() == first
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0


def test_a_secret_key_from_the_environment_wins(tmp_path):
    assert settings_seen(tmp_path, SECRET_KEY="k" * 40)["secret"] == "k" * 40
    assert not (tmp_path / "data" / "secret_key").exists()


def test_every_variable_is_read(tmp_path):
    seen = settings_seen(
        tmp_path,
        DATABASE_URL="postgres://mmooc:pw@db.example.org:5432/course",
        MMOOC_DEBUG="yes",
        MMOOC_BASE_URL="https://course.example.org/",
        MMOOC_ALLOWED_HOSTS="course.example.org,www.course.example.org",
        MMOOC_FROM_EMAIL="Python Course <team@course.example.org>",
        MMOOC_LIST_DOMAIN="groups.course.example.org",
        MMOOC_EMAIL_URL="anymail:postmark",
        ANYMAIL_POSTMARK_SERVER_TOKEN="abc",
    )
    assert (seen["engine"], seen["name"]) == ("django.db.backends.postgresql", "course")
    assert seen["debug"] is True
    assert seen["base_url"] == "https://course.example.org"
    assert seen["hosts"] == ["course.example.org", "www.course.example.org"]
    assert seen["from"] == "Python Course <team@course.example.org>"
    assert seen["list_domain"] == "groups.course.example.org"
    assert seen["backend"] == "anymail.backends.postmark.EmailBackend"
    assert seen["anymail"] == {"POSTMARK_SERVER_TOKEN": "abc"}


@pytest.mark.parametrize("name, value, message", [
    ("MMOOC_EMAIL_URL", "anymail:mailpigeon", "MMOOC_EMAIL_URL: unknown provider 'mailpigeon'"),
    ("MMOOC_EMAIL_URL", "smtp://mail.example.org:notaport", "MMOOC_EMAIL_URL: the port is not a number"),
    ("DATABASE_URL", "mysql://db/course", "DATABASE_URL: expected sqlite:///path or postgres://"),
    ("DATABASE_URL", "postgres://db.example.org", "DATABASE_URL: no database name"),
    ("MMOOC_BASE_URL", "course.example.org", "MMOOC_BASE_URL: expected a URL like http"),
    ("MMOOC_DEBUG", "perhaps", "MMOOC_DEBUG: expected a yes/no value"),
    ("MMOOC_LIST_DOMAIN", "localhost", "MMOOC_LIST_DOMAIN: expected a domain name"),
    ("MMOOC_FROM_EMAIL", "nobody", "MMOOC_FROM_EMAIL: expected an address"),
    ("SECRET_KEY", "short", "SECRET_KEY: must be at least 32 characters"),
    ("MMOOC_MAIL_RATE", "fast", "MMOOC_MAIL_RATE: expected a number"),
    ("MMOOC_METRICS_TOKEN", "short", "MMOOC_METRICS_TOKEN: must be at least 16 characters"),
    ("MMOOC_METRICS_ALLOW", "10.0.0.300", "MMOOC_METRICS_ALLOW: expected addresses or networks"),
    ("MMOOC_HEALTH_ENGINE_STALE", "5", "MMOOC_HEALTH_ENGINE_STALE: must be at least 30"),
    ("MMOOC_HSTS_SECONDS", "a year", "MMOOC_HSTS_SECONDS: expected a whole number"),
    ("MMOOC_SSL_REDIRECT", "sure", "MMOOC_SSL_REDIRECT: expected a yes/no value"),
    ("MMOOC_SECURE_COOKIES", "sure", "MMOOC_SECURE_COOKIES: expected a yes/no value"),
])
def test_a_bad_value_stops_start_up_with_one_line(tmp_path, name, value, message):
    result = run_mmooc(["check"], tmp_path, **{name: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mmooc: configuration error: ")
    assert message in lines[0]


def test_an_unusable_data_dir_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_mmooc(["check"], tmp_path, MMOOC_DATA_DIR=str(blocker / "data"))
    assert result.returncode == 2
    assert "MMOOC_DATA_DIR: cannot create" in result.stderr


def test_help_lists_the_project_commands_with_one_line_each(tmp_path):
    result = run_mmooc(["--help"], tmp_path)
    assert result.returncode == 0
    commands = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    for name in ("demo", "serve", "cohort", "worker"):
        assert name in commands, result.stdout
        assert len(commands[name].split()) > 2, f"{name} has no description"


def test_two_webhook_secrets_during_rotation(tmp_path):
    seen = settings_seen(tmp_path, ANYMAIL_WEBHOOK_SECRET="new:secret1, old:secret0")
    assert seen["anymail"]["WEBHOOK_SECRET"] == ["new:secret1", "old:secret0"]


OPEN_SES = """
from django.core.mail import get_connection
connection = get_connection()
connection.open()
print(connection.client.meta.region_name, connection.ignore_recipient_status)
"""


def test_amazon_ses_client_params_reach_the_backend_as_an_object(tmp_path):
    # As strings, these made every send and every SES webhook fail, and "False" counted as true.
    result = run_mmooc(["shell", "--no-imports", "-c", OPEN_SES], tmp_path,
                       MMOOC_EMAIL_URL="anymail:amazon_ses",
                       ANYMAIL_AMAZON_SES_CLIENT_PARAMS='{"region_name": "eu-west-1"}',
                       ANYMAIL_IGNORE_RECIPIENT_STATUS="False")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["eu-west-1", "False"]


def test_a_bad_anymail_value_stops_start_up_naming_the_variable(tmp_path):
    result = run_mmooc(["check"], tmp_path, ANYMAIL_AMAZON_SES_CLIENT_PARAMS="region_name=eu-west-1")
    assert result.returncode == 2
    assert result.stderr.startswith("mmooc: configuration error: ANYMAIL_AMAZON_SES_CLIENT_PARAMS: expected a JSON")
