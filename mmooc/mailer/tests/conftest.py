"""Fixtures shared by the mailer's tests."""

from __future__ import annotations

import smtplib

import pytest

from mmooc.lib.env import parse_email_url


@pytest.fixture(params=["one command at a time", "pipelining"])
def smtp(request, settings, smtp_server, monkeypatch):
    """The test server, spoken to one command at a time and, as with Postfix, pipelined."""
    settings.EMAIL_CONFIG = parse_email_url(smtp_server.url)
    settings.MAIL_RATE_LIMIT = 0
    if request.param == "pipelining":
        offered = smtplib.SMTP.has_extn
        monkeypatch.setattr(smtplib.SMTP, "has_extn",
                            lambda self, name: name.lower() == "pipelining" or offered(self, name))
    return smtp_server
