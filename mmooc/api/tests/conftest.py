from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from mmooc.api.models import ApiToken


class ApiClient:
    """A test client that speaks to /api/v1/ with one token."""

    def __init__(self, secret: str) -> None:
        self.client = Client()
        self.secret = secret

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", **extra}

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get("/api/v1" + path, params or {}, headers=self._headers(headers))

    def post(self, path: str, data: Any = None, raw: bytes | str | None = None, **headers: str) -> Any:
        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return self.client.post("/api/v1" + path, body, content_type="application/json",
                                headers=self._headers(headers))

    def patch(self, path: str, data: Any, **headers: str) -> Any:
        return self.client.patch("/api/v1" + path, json.dumps(data), content_type="application/json",
                                 headers=self._headers(headers))


@pytest.fixture
def make_client(organizer):
    def make(scope: str = ApiToken.WRITE, cohort: Any = None, name: str = "script") -> ApiClient:
        token, secret = ApiToken.issue(name=name, scope=scope, cohort=cohort, created_by=organizer)
        api = ApiClient(secret)
        api.token = token  # type: ignore[attr-defined]
        return api
    return make


@pytest.fixture
def api(make_client):
    """A read-write token for every cohort."""
    return make_client()


def error_code(resp: Any) -> str:
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message", "param"}, body
    return str(body["error"]["code"])
