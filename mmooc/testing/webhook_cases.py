"""The security cases every provider webhook passes, written once (as anymail's tests/webhook_cases.py).

A provider door's tests subclass `WebhookDoorCases` in a class named `Test…`, set `url`,
and fill in `send(client, auth)` (one valid request of that provider, with the given
Authorization header) and `state()` (the rows the door may change). Every case that
refuses a request then checks that `state()` is what it was before.

Every door answers 400, never 500, to a body it cannot read (lib/webhooks.py): a fixed set
of malformed bodies and Hypothesis' random ones, sent with the right credentials. A door
whose provider signs the body itself (Mailgun) overrides `signed_body(value)` so that a
random JSON value arrives correctly signed and reaches the parser.

The `anymail_settings` fixture (conftest.py) sets ANYMAIL to `ANYMAIL` below: two webhook
secrets, as during a rotation, and Mailgun's signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Hashable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SECRETS = ["mmooc:first-secret-2f9c", "mmooc:second-secret-7d1e"]
MAILGUN_SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
ANYMAIL = {"WEBHOOK_SECRET": SECRETS, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}


def mailgun_signature() -> dict[str, str]:
    """A fresh Mailgun signature (now, a new token), as Mailgun puts it in every webhook body."""
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    signature = hmac.new(MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature}


def basic_auth(credentials: str = SECRETS[0]) -> dict[str, Any]:
    """The Authorization header of a webhook request with these credentials."""
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


CORRECT_JSON = '{"not": "an event"}'
# (body, content type): None for the body is a JSON object of the wrong shape, signed as the
# provider signs; None for the content type is the door's own.
MALFORMED: list[tuple[bytes | None, str | None]] = [
    (b"{not json", None), (b"{not json", "application/json"), (b"[]", "application/json"),
    (b"[1, 2]", "application/json"), (b'"a string"', "application/json"), (b"null", "application/json"),
    (b"42", "application/json"), (b"a=1&b=2", "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    (b"\xff\xfe\x00garbage", "application/octet-stream"), (b"<xml/>", "text/xml"), (b"", None),
]
MALFORMED_IDS = ["not-json", "not-json-as-json", "empty-list", "list", "string", "null", "number", "form",
                 "multipart", "binary", "xml", "empty"]
CONTENT_TYPES = ["application/json", "text/plain; charset=UTF-8", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=x", "application/octet-stream", "text/html", "",
                 "application/json; charset=latin-1"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)


@pytest.mark.django_db
@pytest.mark.usefixtures("anymail_settings")
class WebhookDoorCases:
    url = ""
    content_type = "application/json"
    # What the door answers, where providers differ.
    missing_auth_status = 400  # Amazon SES: 401, which asks SNS for the credentials
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

    @pytest.mark.parametrize(("body", "content_type"), MALFORMED, ids=MALFORMED_IDS)
    def test_it_answers_400_to_a_body_it_cannot_read(self, client: Client, caplog: pytest.LogCaptureFixture,
                                                     body: bytes | None, content_type: str | None) -> None:
        before = self.state()
        client.raise_request_exception = False
        caplog.set_level(logging.WARNING)
        response = self.post_body(client, self.signed_body(json.loads(CORRECT_JSON)) if body is None else body,
                                  content_type or self.content_type)
        assert response.status_code == 400
        assert self.state() == before
        # one line says why: ours, or Django's for a request anymail found suspicious
        loggers = ("mmooc.webhooks", "django.security.AnymailWebhookValidationFailure")
        assert [r for r in caplog.records if r.name in loggers]

    # Each door's class runs this same method (differing executors, on purpose); the client and
    # the database are used by every example alike.
    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors])
    @given(data=st.data())
    def test_no_body_makes_it_fail(self, client: Client, data: st.DataObject) -> None:
        client.raise_request_exception = False
        before = self.state()
        body = data.draw(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                                   JSON_VALUES.map(self.signed_body)))
        response = self.post_body(client, body, data.draw(st.sampled_from(CONTENT_TYPES)))
        assert response.status_code in (200, 400), (body, response.status_code)
        if response.status_code == 400:
            assert self.state() == before

    def post_body(self, client: Client, body: bytes, content_type: str) -> Any:
        # generic(): the bytes as they are, whatever charset the content type claims
        return client.generic("POST", self.url, data=body, content_type=content_type, **self.malformed_headers(),
                              **basic_auth())

    def signed_body(self, value: Any) -> bytes:
        """A JSON value as a body, with whatever signature the provider puts in the body itself."""
        return json.dumps(value).encode()

    def test_a_replayed_request_changes_nothing(self, client: Client) -> None:
        self.send(client, basic_auth())
        after_first = self.state()
        assert self.send(client, basic_auth()).status_code == self.replay_status
        assert self.state() == after_first

    def malformed_headers(self) -> dict[str, Any]:
        """Headers a malformed request carries besides its credentials (SNS's message headers)."""
        return {}
