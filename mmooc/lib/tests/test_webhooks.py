"""refuse_malformed: 400 and a log line for a request a view cannot read; failures that may pass keep 5xx."""

from __future__ import annotations

import json
import logging
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

from mmooc.lib.webhooks import TemporaryFailure, guarded, refuse_malformed


@csrf_exempt
def reads_json(request):
    return HttpResponse(str(json.loads(request.body)["n"] + 1))


def post(body: bytes):
    return RequestFactory().post("/hook/", data=body, content_type="application/json")


def test_a_readable_request_is_answered_by_the_view():
    assert refuse_malformed(reads_json)(post(b'{"n": 1}')).content == b"2"


@pytest.mark.parametrize("body", [b"{not json", b"[1]", b'"n"', b'{"n": "x"}', b"\xff"])
def test_a_request_the_view_cannot_read_is_answered_400_with_a_log_line(body, caplog):
    caplog.set_level(logging.WARNING, logger="mmooc.webhooks")
    response = refuse_malformed(reads_json)(post(body))
    assert response.status_code == 400
    [record] = caplog.records
    assert "/hook/" in record.getMessage() and "application/json" in record.getMessage()


@pytest.mark.parametrize("error", [TemporaryFailure("relay busy"), OperationalError("database is locked"),
                                   ConnectionRefusedError(), ImproperlyConfigured("no key"),
                                   SuspiciousOperation("bad signature")])
def test_a_failure_that_may_pass_or_that_django_answers_is_passed_on(error):
    def view(request):
        raise error

    with pytest.raises(type(error)):
        refuse_malformed(view)(post(b"{}"))


def test_the_wrapper_keeps_the_view_s_attributes():
    assert refuse_malformed(reads_json).csrf_exempt is True


def test_guarded_wraps_every_view_of_a_url_conf_and_keeps_its_names():
    conf = ModuleType("hooks.urls")
    conf.app_name = "hooks"  # type: ignore[attr-defined]
    conf.urlpatterns = [path("a/", reads_json, name="a")]  # type: ignore[attr-defined]

    patterns, app_name = guarded(conf)
    [pattern] = patterns
    assert app_name == "hooks" and isinstance(pattern, URLPattern) and pattern.name == "a"
    assert pattern.callback(post(b"[")).status_code == 400


def test_a_receiver_failing_on_a_readable_event_is_passed_on_so_the_provider_retries():
    from django.dispatch import Signal

    event = Signal()

    def broken(sender, **kwargs):
        raise RuntimeError("the learners app is down")

    event.connect(broken, weak=False)

    def view(request):
        json.loads(request.body)  # readable
        event.send(sender=None)
        return HttpResponse()

    with pytest.raises(RuntimeError):
        refuse_malformed(view)(post(b"{}"))
