"""Learners in their own language, in a real browser: Spanish from end to end, Arabic right to left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation

from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import deliveries, link_in, path_of, received_text
from mmooc.lib import clock
from mmooc.testing import make_cohort, make_learner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Our own words on the English pages that must not show through on the Spanish ones.
ENGLISH = ["Sign up", "What you will do", "Time zone", "How do you want to study?", "Follow along",
           "Already signed up?", "Starts", "Signup closes"]


def test_a_spanish_visitor_reads_signs_up_and_is_welcomed_in_spanish(live_server, settings, spanish):
    settings.BASE_URL = live_server.url
    settings.LEARNER_SIGNUP_MIN_SECONDS = 0  # the browser is driven faster than a person types
    start = (timezone.now() + timedelta(days=10)).date()
    cohort = make_cohort(start=start, tz="UTC", signup_closes=datetime(2031, 10, 15, 12, 0, tzinfo=UTC))
    page = spanish

    page.goto(f"{live_server.url}/{cohort.course.slug}/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("html").get_attribute("dir") == "ltr"
    main = page.locator("main").inner_text()
    assert "Qué vas a hacer" in main and "Empieza el" in main and "Sigue el curso" in main
    for english in ENGLISH:
        assert english not in main, english
    with translation.override("es"):
        assert clock.day(start) in main  # "martes, 15 de diciembre de 2026"
    assert page.input_value("#id_language") == "es"  # from the browser's Accept-Language
    closes = page.locator("time.local").first.inner_text()  # written in the visitor's zone by the page
    assert "mié" in closes and "oct" in closes and "Oct" not in closes, closes  # Wed 15 Oct 2031

    page.fill("#id_email", "lucia@example.org")
    page.fill("#id_name", "Lucía Pérez")
    page.get_by_role("button", name="Inscribirme").click()
    page.get_by_text("Te enviamos un correo").wait_for()
    learner = Learner.objects.get(email="lucia@example.org")
    assert learner.language == "es"

    confirmation = received_text("lucia@example.org", "confirmation")
    assert "Alguien (esperamos que tú) se inscribió" in confirmation
    assert deliveries("lucia@example.org", "confirmation").get().message.subject.startswith("Confirma tu plaza en")
    page.goto(live_server.url + path_of(link_in(confirmation, "c")))
    page.get_by_role("button", name="Confirmar mi plaza").click()
    page.get_by_text("Qué pasa ahora").wait_for()

    welcome = received_text("lucia@example.org", "welcome")
    assert "Gracias por confirmar" in welcome and "Lucía" in welcome
    assert "Para dejar de recibir estos correos, date de baja" in welcome  # the footer too
    assert deliveries("lucia@example.org", "welcome").get().message.subject.startswith("¡Te damos la bienvenida a")

    page.get_by_role("link", name="Abrir mi página").click()
    page.locator(".schedule").wait_for()
    assert "Preferencias" in page.locator("main").inner_text()
    with translation.override("es"):
        assert clock.day(start + timedelta(days=7)) in page.locator(".schedule").inner_text()


def test_the_arabic_learner_page_reads_right_to_left_and_fits_a_phone(live_server, settings, arabic_phone):
    settings.BASE_URL = live_server.url
    cohort = make_cohort(start=(timezone.now() - timedelta(days=9)).date())
    learner = make_learner(cohort, "amira@example.org", name="أميرة حسن", language="ar", timezone="Africa/Cairo")
    page = arabic_phone

    page.goto(live_server.url + path_of(links.learner_page_url(learner)))
    page.locator(".schedule").wait_for()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert "الجدول" in page.locator("main").inner_text()
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the phone"
