"""Configuration refused before anything starts: as checks, and as the commands see them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mmooc.lib.tests.test_settings import run_mmooc
from mmooc.operations.checks import https_cookies_are_secure, secret_key_is_shared

ROOT = Path(__file__).resolve().parents[3]
POSTGRES = "postgres://mmooc:pw@db.example.org:5432/mmooc"


def test_postgresql_without_a_secret_key_is_refused(settings):
    settings.SECRET_KEY_SOURCE = "missing"
    [error] = secret_key_is_shared(None)
    assert error.id == "operations.E001" and "SECRET_KEY is not set" in error.msg


@pytest.mark.parametrize("source", ["environment", "data folder"])
def test_a_secret_key_set_or_kept_for_sqlite_passes(settings, source):
    settings.SECRET_KEY_SOURCE = source
    assert secret_key_is_shared(None) == []


def test_postgresql_never_writes_a_key_of_its_own(tmp_path):
    result = run_mmooc(["check"], tmp_path, DATABASE_URL=POSTGRES)
    assert result.returncode == 1
    assert "(operations.E001) SECRET_KEY is not set, and the database is PostgreSQL" in result.stderr
    assert not (tmp_path / "data" / "secret_key").exists()


def test_an_https_site_without_secure_cookies_is_refused(settings):
    settings.BASE_URL = "https://course.example.org"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    assert [e.id for e in https_cookies_are_secure(None)] == ["operations.E002"]
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    assert https_cookies_are_secure(None) == []
    settings.BASE_URL = "http://127.0.0.1:8000"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    assert https_cookies_are_secure(None) == []


def test_secure_cookies_follow_the_base_url_unless_set(tmp_path):
    env = {"MMOOC_BASE_URL": "https://course.example.org"}
    assert run_mmooc(["check"], tmp_path, **env).returncode == 0
    refused = run_mmooc(["check"], tmp_path, **env, MMOOC_SECURE_COOKIES="0")
    assert refused.returncode == 1 and "(operations.E002)" in refused.stderr


BROKEN = {"MMOOC_EMAIL_URL": "anymail:mailgun"}  # no key, no webhook secret


@pytest.mark.parametrize("command", [["check"], ["worker", "--once"], ["lmtp", "--port", "0"],
                                     ["serve", "--port", "0", "--lmtp-port", "0"]])
def test_each_process_refuses_to_start_with_a_provider_without_its_key(tmp_path, command):
    result = run_mmooc(command, tmp_path, **BROKEN)
    assert result.returncode == 1, result.stderr
    assert "(mailer.E002) MMOOC_EMAIL_URL=anymail:mailgun needs ANYMAIL_MAILGUN_API_KEY" in result.stderr
    # The webhook secret (E003) is the web's: checked by the processes that serve pages,
    # not by `mmooc worker` and `mmooc lmtp`, which skip the checks of the URL configuration.
    assert ("(mailer.E003)" in result.stderr) == (command[0] in ("check", "serve"))
    assert "Traceback" not in result.stderr
    assert "starting" not in result.stderr  # refused before anything ran


def test_the_web_application_refuses_to_start_too(tmp_path):
    env = run_env(tmp_path) | BROKEN
    result = subprocess.run([str(Path(sys.executable).with_name("gunicorn")), "--check-config", "mmooc.wsgi"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "(mailer.E002) MMOOC_EMAIL_URL=anymail:mailgun needs ANYMAIL_MAILGUN_API_KEY" in output


def run_env(tmp_path: Path) -> dict[str, str]:
    import os

    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("MMOOC_", "ANYMAIL_"))
               and k not in ("DATABASE_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    environ.update({"MMOOC_DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "mmooc.settings"})
    return environ


def documented_production_environment() -> dict[str, str]:
    """The variables of the production environment file in docs/operations.md."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = re.search(r"<!-- production environment -->\n```sh\n(.*?)```", text, re.S)
    assert block, "docs/operations.md has no production environment block"
    env = {}
    for line in block.group(1).splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def sample_environment_file() -> dict[str, str]:
    """The variables of deploy/mmooc.env, read as systemd's EnvironmentFile reads them."""
    env = {}
    for line in (ROOT / "deploy" / "mmooc.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value[1:-1] if value[:1] == value[-1:] == '"' else value
    return env


def test_the_sample_environment_file_answers_every_deploy_warning(tmp_path):
    env = sample_environment_file()
    env["MMOOC_DATA_DIR"] = str(tmp_path / "data")
    result = run_mmooc(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_documented_production_settings_answer_every_deploy_warning(tmp_path):
    env = documented_production_environment()
    assert {"SECRET_KEY", "DATABASE_URL", "MMOOC_BASE_URL", "ANYMAIL_WEBHOOK_SECRET",
            "MMOOC_HSTS_SECONDS", "MMOOC_SSL_REDIRECT"} <= set(env)
    result = run_mmooc(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("name, check", [
    ("MMOOC_HSTS_SECONDS", "security.W004"), ("MMOOC_HSTS_INCLUDE_SUBDOMAINS", "security.W005"),
    ("MMOOC_HSTS_PRELOAD", "security.W021"), ("MMOOC_SSL_REDIRECT", "security.W008"),
    ("ANYMAIL_WEBHOOK_SECRET", "mailer.E003"), ("SECRET_KEY", "operations.E001"),
])
def test_each_documented_setting_answers_its_check(tmp_path, name, check):
    env = {k: v for k, v in documented_production_environment().items() if k != name}
    if name in ("MMOOC_HSTS_SECONDS", "MMOOC_SSL_REDIRECT"):
        env[name] = "0"  # on by default with the https base URL: only turning it off warns
    result = run_mmooc(["check", "--deploy"], tmp_path, **env)
    assert f"({check})" in result.stderr


def test_an_https_base_url_answers_the_hsts_and_redirect_checks_by_itself(tmp_path):
    env = {k: v for k, v in documented_production_environment().items()
           if k not in ("MMOOC_HSTS_SECONDS", "MMOOC_SSL_REDIRECT")}
    result = run_mmooc(["check", "--deploy"], tmp_path, **env)
    assert "(security.W004)" not in result.stderr and "(security.W008)" not in result.stderr
