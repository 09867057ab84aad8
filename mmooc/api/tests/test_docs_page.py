from __future__ import annotations

import re

from mmooc.api.tests.test_openapi import OPERATIONS


def test_the_docs_page_lists_every_operation_without_scripts(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.content.decode()
    for method, route, _op in OPERATIONS:
        assert f"{method.upper()} {route}" in html
    assert "<script" not in html.split("</main>")[0].split("<main>")[1]
    # Nothing is fetched from elsewhere: the page works offline, under the site's policy.
    assert not re.search(r'(src|href)="https?://', html)
    assert "script-src 'self'" in resp["Content-Security-Policy"]


def test_the_docs_page_is_read_only(client):
    assert client.post("/api/v1/docs").status_code == 405
