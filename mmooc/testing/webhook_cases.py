"""The security cases every provider webhook passes, written once (as anymail's tests/webhook_cases.py).

A provider door's tests subclass `WebhookDoorCases` in a class named `Test…`, set `url`,
and fill in `send(client, auth)` (one valid request of that provider, with the given
Authorization header) and `state()` (the rows the door may change). Every case that
refuses a request then checks that `state()` is what it was before.

The `anymail_settings` fixture (conftest.py) sets ANYMAIL to `ANYMAIL` below: two webhook
secrets, as during a rotation, and Mailgun's signing key.
"""

from __future__ import annotations

import base64
from collections.abc import Hashable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

SECRETS = ["mmooc:first-secret-2f9c", "mmooc:second-secret-7d1e"]
MAILGUN_SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
ANYMAIL = {"WEBHOOK_SECRET": SECRETS, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}


def basic_auth(credentials: str = SECRETS[0]) -> dict[str, Any]:
    """The Authorization header of a webhook request with these credentials."""
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


@pytest.mark.django_db
@pytest.mark.usefixtures("anymail_settings")
class WebhookDoorCases:
    url = ""
    content_type = "application/json"
    # What the door answers, where providers differ.
    missing_auth_status = 400  # Amazon SES: 401, which asks SNS for the credentials
    malformed_status = 400  # anymail's views for Postmark and SES raise on a body that is not JSON: 500
    replay_status = 200  # a repeated event is taken again and changes nothing; Mailgun refuses it

    def send(self, client: Client, auth: dict[str, Any]) -> HttpResponse:
        """One valid request of the provider, with these headers for its credentials."""
        raise NotImplementedError

    def state(self) -> Hashable:
        """What the door changes: counts or values of the rows it writes."""
        raise NotImplementedError

    def test_it_takes_a_valid_request(self, client: Client) -> None:
        before = self.state()
        assert self.send(client, basic_auth()).status_code == 200
        assert self.state() != before

    def test_it_refuses_a_request_without_credentials(self, client: Client) -> None:
        before = self.state()
        assert self.send(client, {}).status_code == self.missing_auth_status
        assert self.state() == before

    def test_it_refuses_a_wrong_secret(self, client: Client) -> None:
        before = self.state()
        assert self.send(client, basic_auth("mmooc:guessed")).status_code == 400
        assert self.state() == before

    def test_it_takes_the_second_secret_while_secrets_are_rotated(self, client: Client) -> None:
        before = self.state()
        assert self.send(client, basic_auth(SECRETS[1])).status_code == 200
        assert self.state() != before

    def test_it_refuses_get(self, client: Client) -> None:
        before = self.state()
        assert client.get(self.url, **basic_auth()).status_code == 405
        assert self.state() == before

    def test_it_refuses_a_malformed_body(self, client: Client) -> None:
        before = self.state()
        client.raise_request_exception = False
        response = client.post(self.url, data=b"{not json", content_type=self.content_type,
                               **self.malformed_headers(), **basic_auth())
        assert response.status_code == self.malformed_status
        assert self.state() == before

    def test_a_replayed_request_changes_nothing(self, client: Client) -> None:
        self.send(client, basic_auth())
        after_first = self.state()
        assert self.send(client, basic_auth()).status_code == self.replay_status
        assert self.state() == after_first

    def malformed_headers(self) -> dict[str, Any]:
        """Headers a malformed request carries besides its credentials (SNS's message headers)."""
        return {}
