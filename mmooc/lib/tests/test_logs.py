"""Logs as an operator reads them: real processes, their stderr read line by line."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from mmooc.lib.logs import JSONFormatter
from mmooc.lib.tests.test_settings import run_mmooc
from mmooc.testing import SMTPServer


def test_the_json_format_is_one_object_per_line_with_the_extra_fields_and_traceback():
    try:
        raise ValueError("broken\nover two lines")
    except ValueError:
        record = logging.LogRecord("mmooc.mailer", logging.ERROR, __file__, 1, "batch of %d", (3,), sys.exc_info())
    record.sent = 3
    line = JSONFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert (data["level"], data["logger"], data["message"], data["sent"]) == ("ERROR", "mmooc.mailer", "batch of 3", 3)
    assert data["time"].endswith("+00:00")
    assert "ValueError: broken" in data["traceback"]


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    server.reply = lambda envelope: "451 4.7.1 try later"
    yield server
    server.stop()


def migrated(tmp_path) -> dict[str, str]:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = run_mmooc(["migrate", "-v0"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    enqueue = ("from mmooc.mailer import outbox\n"
               "outbox.enqueue(outbox.compose(kind='transactional', subject='Hi', body='Hello'),\n"
               "               [outbox.Recipient(f'l{i}@example.org') for i in range(7)])\n")
    assert run_mmooc(["shell", "--no-imports", "-c", enqueue], tmp_path, **env).returncode == 0
    return env


def test_the_worker_logs_its_start_its_batches_and_why_copies_wait_as_json(tmp_path, smtp_server):
    env = migrated(tmp_path)
    email_url = f"smtp://course:hunter2-password@127.0.0.1:{smtp_server.port}?tls=none"
    result = run_mmooc(["worker", "--once", "--batch", "5"], tmp_path, **env, MMOOC_LOG_FORMAT="json",
                       MMOOC_EMAIL_URL=email_url, SECRET_KEY="s" * 50, MMOOC_MAIL_RATE="20")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is one JSON object
    start = lines[0]
    assert start["message"].startswith("mmooc worker starting")
    assert (start["command"], start["mail"], start["mail_rate"], start["mail_batch"]) == (
        "worker", f"smtp 127.0.0.1:{smtp_server.port} none", "20/s", 500)
    assert start["database"] == f"sqlite {tmp_path / 'db.sqlite3'}"
    assert start["base_url"] == "http://127.0.0.1:8000" and start["list_domain"] == "lists.course.example.org"
    batches = [line for line in lines if line["message"].startswith("batch of")]
    assert [(b["batch"], b["deferred"]) for b in batches] == [(5, 5), (2, 2)]
    reasons = [line["message"] for line in lines if line["level"] == "WARNING"]
    assert reasons == [f"5 deferred: could not connect to 127.0.0.1:{smtp_server.port}: SMTP AUTH extension not "
                       "supported by server. (smtp)", f"2 deferred: could not connect to 127.0.0.1:{smtp_server.port}: "
                       "SMTP AUTH extension not supported by server. (smtp)"]
    for secret in ("hunter2", "s" * 50, "l1@example.org"):
        assert secret not in result.stderr + result.stdout


def test_the_text_format_says_the_same_in_words(tmp_path, smtp_server):
    env = migrated(tmp_path)
    result = run_mmooc(["worker", "--once"], tmp_path, **env, MMOOC_EMAIL_URL=smtp_server.url)
    assert result.returncode == 0, result.stderr
    assert " INFO mmooc.start: mmooc worker starting (pid " in result.stderr
    assert "batch of 7: 0 sent, 7 deferred, 0 failed, 0 suppressed in " in result.stderr
    assert " WARNING mmooc.mailer: 7 deferred: 451 4.7.1 try later (smtp)" in result.stderr


BREAK_A_VIEW = """
import sys, types
from django.test import Client
from django.test.utils import override_settings
from django.urls import path

def broken(request):
    raise RuntimeError("the view broke")

urls = types.ModuleType("broken_urls")
urls.urlpatterns = [path("courses/broken", broken)]
sys.modules["broken_urls"] = urls
with override_settings(ROOT_URLCONF="broken_urls"):
    print(Client(raise_request_exception=False).get("/courses/broken?x=1").status_code)
"""


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_500_is_logged_with_its_path_and_traceback_when_debug_is_off(tmp_path, fmt):
    result = run_mmooc(["shell", "--no-imports", "-c", BREAK_A_VIEW], tmp_path, MMOOC_LOG_FORMAT=fmt)
    assert result.stdout.strip() == "500", result.stderr
    if fmt == "json":
        [line] = [json.loads(line) for line in result.stderr.splitlines()]
        assert (line["level"], line["logger"], line["path"], line["status_code"]) == (
            "ERROR", "django.request", "/courses/broken", 500)
        assert line["message"] == "Internal Server Error: /courses/broken"
        assert "RuntimeError: the view broke" in line["traceback"]
    else:
        assert "ERROR django.request: Internal Server Error: /courses/broken" in result.stderr
        assert "RuntimeError: the view broke" in result.stderr


def test_a_bad_log_format_or_level_stops_start_up(tmp_path):
    for name, value in (("MMOOC_LOG_FORMAT", "xml"), ("MMOOC_LOG_LEVEL", "LOUD")):
        result = run_mmooc(["check"], tmp_path, **{name: value})
        assert result.returncode == 2
        assert result.stderr.startswith(f"mmooc: configuration error: {name}: expected one of")
