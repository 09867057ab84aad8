"""Course emails per language, read in a real browser: a Portuguese learner reads the Portuguese
variant of an email, and the email as written where it has no Portuguese variant."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.learners import links
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_learner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _received(address: str) -> dict[str, str]:
    """Run the outbox engine; each course email `address` received, by subject: its plain text."""
    engine.drain()
    texts = {}
    for delivery in Delivery.objects.filter(recipient=address, message__tag=scheduling.TAG).select_related("message"):
        assert delivery.stored, f"not delivered to {address}: {delivery.status}"
        mail = message_from_bytes(bytes(delivery.stored), policy=policy.default)
        texts[str(mail["Subject"])] = mail.get_body(preferencelist=("plain",)).get_content()
    return texts


def _web_link(text: str) -> str:
    match = re.search(r"https?://[^/\s]+(/emails/[0-9a-f-]{36}/(?:\?lang=[\w-]+)?)", text)
    assert match, f"no web link in:\n{text}"
    return match.group(1)


def test_a_portuguese_learner_reads_the_portuguese_variant_and_the_email_as_written_without_one(
        live_server, settings, page, browser, organizer):
    settings.BASE_URL = live_server.url
    cohort = make_cohort(start=(timezone.now() - timedelta(days=9)).date())  # weeks 1 and 2 are out
    make_learner(cohort, "joao@example.org", name="João Silva", language="pt-br")
    make_learner(cohort, "bob@example.org", name="Bob Smith", language="en")
    week1, week2 = cohort.course.modules.order_by("position")[:2]
    one = CourseEmail.objects.create(cohort=cohort, module=week1, schedule=CourseEmail.NOW,
                                     subject="Week one of {{ course.title }}",
                                     body="Hello {{ learner.first_name }}, this week: functions.")
    CourseEmailVariant.objects.create(email=one, language="pt-br", subject="Semana um de {{ course.title }}",
                                      body="Olá {{ learner.first_name }}, nesta semana: funções.")
    two = CourseEmail.objects.create(cohort=cohort, module=week2, schedule=CourseEmail.NOW,
                                     subject="Week two of {{ course.title }}",
                                     body="Hello {{ learner.first_name }}, this week: loops.")
    for email in (one, two):
        scheduling.schedule(email, organizer, hold=False)
    title = cohort.course.title

    joao, bob = _received("joao@example.org"), _received("bob@example.org")
    assert set(joao) == {f"Semana um de {title}", f"Week two of {title}"}
    assert set(bob) == {f"Week one of {title}", f"Week two of {title}"}

    # Its web copy, opened from the email in a browser that asks for English: still Portuguese.
    page.goto(live_server.url + _web_link(joao[f"Semana um de {title}"]))
    assert page.locator("h1").inner_text() == f"Semana um de {title}"
    article = page.locator("article").inner_text()
    assert "nesta semana: funções" in article and "this week" not in article
    assert page.locator("html").get_attribute("lang") == "pt-br"
    assert "Enviado" in article  # the page around the email speaks the learner's language too
    # The email without a Portuguese variant reads as written.
    page.goto(live_server.url + _web_link(joao[f"Week two of {title}"]))
    assert page.locator("h1").inner_text() == f"Week two of {title}"
    assert "this week: loops" in page.locator("article").inner_text()

    # From the learner's page (in Portuguese): each week's email in the learner's language.
    learner = cohort.learners.get(email="joao@example.org")
    page.goto(live_server.url + re.sub(r"^https?://[^/]+", "", links.learner_page_url(learner)))
    page.locator(".schedule").wait_for()
    assert page.locator("html").get_attribute("lang") == "pt-br"
    week_links = page.locator("a.week-email")
    assert week_links.count() == 2
    week_links.nth(0).click()
    page.locator("article").wait_for()
    assert page.locator("h1").inner_text() == f"Semana um de {title}"
    page.go_back()
    page.locator("a.week-email").nth(1).click()
    page.locator("article").wait_for()
    assert page.locator("h1").inner_text() == f"Week two of {title}"

    # The archive read by a browser that asks for Brazilian Portuguese lists the same subjects.
    context = browser.new_context(locale="pt-BR", extra_http_headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    try:
        portuguese = context.new_page()
        portuguese.goto(f"{live_server.url}/{cohort.course.slug}/{cohort.slug}/archive/")
        subjects = portuguese.locator("tbody a").all_inner_texts()
        assert sorted(subjects) == sorted([f"Semana um de {title}", f"Week two of {title}"])
        portuguese.get_by_role("link", name=f"Semana um de {title}").click()
        assert "nesta semana: funções" in portuguese.locator("article").inner_text()
    finally:
        context.close()
