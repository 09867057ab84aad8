"""Every webhook URL the project routes (each of anymail's providers, tracking and inbound)
answers 400, never 500, to a body it cannot read, sent with the right credentials."""

from __future__ import annotations

import anymail.urls
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from mmooc.testing.webhook_cases import ANYMAIL, CORRECT_JSON, MALFORMED, MALFORMED_IDS, basic_auth

pytestmark = pytest.mark.django_db

# Every setting a provider's webhook needs to start, so that each one reads the body.
KEYS = {"BREVO_API_KEY": "xkeysib-test", "SENDINBLUE_API_KEY": "xkeysib-test",
        "MAILERSEND_SIGNING_SECRET": "ms-signing-test", "MAILERSEND_INBOUND_SECRET": "ms-inbound-test",
        "MAILERSEND_API_TOKEN": "ms-token-test", "MAILTRAP_API_TOKEN": "mt-test",
        "MANDRILL_WEBHOOK_KEY": "mandrill-test", "MANDRILL_WEBHOOK_URL": "https://testserver/anymail/mandrill/",
        "POSTAL_WEBHOOK_KEY": "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC",
        "RESEND_SIGNING_SECRET": "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=", "RESEND_API_KEY": "re_test",
        "UNISENDER_GO_API_KEY": "ug-test"}
# Resend signs with svix, which is not installed: its tracking view cannot start, and says so (a 500,
# as every webhook of a provider the site is not set up for; the site's checks name it).
CANNOT_START = {"resend/tracking/"}


def _starts(view_class: type) -> bool:
    with override_settings(ANYMAIL={**ANYMAIL, **KEYS}):
        try:
            view_class()
        except ImproperlyConfigured:
            return False
    return True


ALL_ROUTES = {str(p.pattern).strip("^$").replace("(_mime)?", "_mime"): p.callback.view_class
              for p in anymail.urls.urlpatterns}
ROUTES = sorted(route for route, view_class in ALL_ROUTES.items() if _starts(view_class))


def test_every_webhook_route_but_resend_s_is_exercised():
    assert set(ALL_ROUTES) - set(ROUTES) == CANNOT_START
    assert len(ROUTES) >= 25


@pytest.fixture(autouse=True)
def every_provider(settings):
    settings.ANYMAIL = {**ANYMAIL, **KEYS}


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize(("body", "content_type"), MALFORMED, ids=MALFORMED_IDS)
def test_no_webhook_answers_500_to_a_body_it_cannot_read(client, url, body, content_type):
    client.raise_request_exception = False
    body = CORRECT_JSON.encode() if body is None else body
    response = client.generic("POST", "/anymail/" + url, data=body, content_type=content_type or "application/json",
                              HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification", HTTP_X_AMZ_SNS_MESSAGE_ID="5b7e0a2c",
                              **basic_auth())
    assert response.status_code < 500, (url, response.status_code)
