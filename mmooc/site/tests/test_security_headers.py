"""Security headers on every kind of page, and no inline script for the policy to refuse.

Every page answers with a Content-Security-Policy that allows scripts from the site's own
files only, a Referrer-Policy that keeps learners' links (they carry tokens) from other
sites, and a Permissions-Policy; HSTS and the redirect to HTTPS are on for an https base URL.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User

from mmooc.learners.links import learner_page_url
from mmooc.lib.tests.test_settings import run_mmooc
from mmooc.testing import make_learner

pytestmark = pytest.mark.cohort_data(n=40, groups=2)

PRINT_HTTPS = """
from django.conf import settings
print(settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)
"""


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = [p.split() for p in policy.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


class InlineCode(HTMLParser):
    """Inline scripts (a <script> without src that is not JSON data) and on… handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append(f"<script> at line {self.getpos()[0]}")
        self.found += [f"{tag} {name}=" for name, _ in attrs if name.startswith("on")]
        self.found += [f"{tag} {name}=javascript:" for name, value in attrs
                       if value and value.strip().lower().startswith("javascript:")]


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def pages(data) -> dict[str, str]:
    """One URL of each kind of page."""
    cohort, course = data.cohort, data.cohort.course
    learner = make_learner(cohort, "page@example.org")
    delivery = data.message.deliveries.order_by("id").first()
    return {
        "home": "/",
        "landing": f"/{course.slug}/",
        "cohort landing": f"/{course.slug}/{cohort.slug}/",
        "signup embed": f"/{course.slug}/{cohort.slug}/embed",
        "send my link": "/me/",
        "learner page": "/" + learner_page_url(learner).split("/", 3)[3],
        "dashboard": "/dashboard/",
        "sign-in": "/dashboard/login/",
        "cohort overview": f"/dashboard/cohorts/{cohort.slug}/",
        "learner list": f"/dashboard/cohorts/{cohort.slug}/learners/",
        "groups": f"/dashboard/cohorts/{cohort.slug}/groups/",
        "group": f"/dashboard/cohorts/{cohort.slug}/groups/1/",
        "grouping": f"/dashboard/cohorts/{cohort.slug}/grouping/",
        "emails": f"/dashboard/cohorts/{cohort.slug}/emails/",
        "compose": f"/dashboard/cohorts/{cohort.slug}/emails/new",
        "sending": f"/dashboard/emails/{data.email.public_id}/",
        "exports": f"/dashboard/cohorts/{cohort.slug}/export/",
        "suppressions": "/dashboard/suppressions/",
        "audit": "/dashboard/audit/",
        "outbox": "/outbox/",
        "outbox message": f"/outbox/{data.message.public_id}/",
        "outbox copy": f"/outbox/{data.message.public_id}/{delivery.pk}/",
        "admin": "/admin/",
        "admin learners": "/admin/learners/learner/",
        "healthz": "/healthz",
        "not found": "/no/such/page/",
    }


def test_every_page_kind_has_the_security_headers_and_no_inline_script(client, organizer, data):
    urls = pages(data)
    User.objects.filter(pk=organizer.pk).update(is_staff=True, is_superuser=True)
    client.force_login(organizer)
    for kind, url in urls.items():
        response = client.get(url)
        # home leads to the one course's page; healthz says 503 here, with no worker running
        expected = {"not found": (404,), "home": (302,), "healthz": (200, 503)}.get(kind, (200,))
        assert response.status_code in expected, (kind, url, response.status_code)
        policy = directives(response)
        assert policy["script-src"] == ["'self'"], kind
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"], kind
        assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"], kind
        assert policy["frame-ancestors"] == (["*"] if kind == "signup embed" else ["'none'"]), kind
        assert response["Referrer-Policy"] == "same-origin", kind
        assert "camera=()" in response["Permissions-Policy"], kind
        assert response["X-Content-Type-Options"] == "nosniff", kind
        if response["Content-Type"].startswith("text/html"):
            assert inline_code(response.content.decode()) == [], kind


def test_the_inline_code_finder_finds_what_the_policy_would_refuse():
    assert inline_code('<script>alert(1)</script><script src="/s.js"></script>'
                       '<script type="application/json">{}</script>') == ["<script> at line 1"]
    assert inline_code('<button onclick="go()">x</button><a href="javascript:go()">y</a>') == [
        "button onclick=", "a href=javascript:"]


@pytest.mark.django_db
def test_the_anonymous_landing_page_and_the_sign_in_form_have_them_too(client, data):
    for url in [f"/{data.cohort.course.slug}/", "/dashboard/login/", "/admin/login/"]:
        response = client.get(url)
        assert response.status_code == 200 and directives(response)["script-src"] == ["'self'"], url
        assert inline_code(response.content.decode()) == [], url


def test_https_base_url_turns_on_hsts_and_the_redirect(tmp_path):
    def seen(**env: str) -> list[str]:
        result = run_mmooc(["shell", "--no-imports", "-c", PRINT_HTTPS], tmp_path, **env)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert seen(MMOOC_BASE_URL="https://course.example.org") == ["31536000", "True", "True"]
    assert seen(MMOOC_BASE_URL="http://127.0.0.1:8000") == ["0", "False", "False"]
    # each can still be set on its own
    assert seen(MMOOC_BASE_URL="https://course.example.org", MMOOC_HSTS_SECONDS="0",
                MMOOC_SSL_REDIRECT="0") == ["0", "False", "True"]


@pytest.mark.django_db
def test_with_https_on_plain_http_redirects_and_https_answers_with_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/dashboard/login/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/dashboard/login/"
    assert client.get("/healthz").status_code == 200  # monitoring on the machine may use plain HTTP
    response = client.get("/dashboard/login/", secure=True)
    assert response.status_code == 200 and response["Strict-Transport-Security"] == "max-age=31536000"
