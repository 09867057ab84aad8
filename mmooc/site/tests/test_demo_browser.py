"""The demo as a newcomer meets it: the landing page and the staff login, in chromium."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def load_demo() -> str:
    out = StringIO()
    call_command("demo", "--no-serve", "--learners", "120", stdout=out, stderr=StringIO())
    line = next(line for line in out.getvalue().splitlines() if "Sign in as organizer" in line)
    return line.split("password:")[1].strip()


def test_the_demo_landing_page_and_staff_login_work(live_server, page):
    password = load_demo()
    page.goto(live_server.url + "/")
    assert "A Gentle Introduction to Python" in page.title() + page.inner_text("body")
    assert page.locator("form input[type=email]").count() >= 1

    page.goto(live_server.url + "/dashboard/")
    page.fill("input[name=username]", "organizer")
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state()
    assert page.url.startswith(live_server.url + "/dashboard/")
    assert "Demo cohort" in page.inner_text("body")
