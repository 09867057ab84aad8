"""The built-in welcome speaks the learner's language; a course's own emails are sent as written."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.conf import settings
from django.utils import timezone, translation

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.learners.models import Learner
from mmooc.learners.signals import learner_confirmed
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


def _welcome(learner):
    learner_confirmed.send(sender=Learner, learner=learner)
    return Delivery.objects.get(ref=str(learner.public_id), message__tag="welcome").message


def test_learners_get_the_built_in_welcome_in_their_language_one_message_per_language():
    cohort = make_cohort(start=date(2030, 3, 4))
    spanish = _welcome(make_learner(cohort, "lucia@example.org", language="es"))
    portuguese = _welcome(make_learner(cohort, "ana@example.org", language="pt"))
    english = _welcome(make_learner(cohort, "bob@example.org", language="fr"))  # not translated: English
    again = _welcome(make_learner(cohort, "pablo@example.org", language="es"))
    assert spanish.subject.startswith("¡Te damos la bienvenida a") and "lunes, 4 de marzo de 2030" in spanish.body
    assert spanish.headers == {"Content-Language": "es"}
    assert portuguese.subject.startswith("Boas-vindas ao") and "4 de março de 2030" in portuguese.body
    assert english.subject.startswith("Welcome to") and english.headers == {}
    assert again == spanish != english


def test_a_courses_own_welcome_goes_out_as_written_to_a_spanish_learner():
    cohort = make_cohort(start=date(2030, 3, 4))
    CourseEmail.objects.create(cohort=cohort, trigger="welcome", subject="Hello from {{ course.title }}",
                               body="We start on {{ cohort.start_date }}.")
    message = _welcome(make_learner(cohort, "lucia@example.org", language="es"))
    assert message.subject.startswith("Hello from") and "Monday 4 March 2030" in message.body
    assert message.headers == {}


def test_a_course_email_scheduled_from_a_spanish_browser_is_written_in_the_course_language(organizer):
    cohort = make_cohort(start=date(2030, 3, 4))
    make_learner(cohort, "bob@example.org")
    email = CourseEmail.objects.create(cohort=cohort, subject="Week one", body="Starts {{ cohort.start_date }}.",
                                       schedule=CourseEmail.RELATIVE, day_offset=0,
                                       local_time=time(9, 0))
    with translation.override("es"):  # what LocaleMiddleware does for the organizer's request
        scheduling.schedule(email, organizer)
    email.refresh_from_db()
    assert "Monday 4 March 2030" in email.message.body and email.message.headers == {}


def test_an_arabic_learner_gets_the_built_in_welcome_in_arabic():
    cohort = make_cohort(start=date(2030, 3, 4))
    message = _welcome(make_learner(cohort, "amira@example.org", language="ar"))
    assert message.subject.startswith("مرحبًا بك في") and message.headers == {"Content-Language": "ar"}
    assert "شكرًا على التأكيد" in message.body and "Thank you" not in message.body


def test_an_arabic_learner_joining_late_reads_where_the_run_stands_in_arabic():
    cohort = make_cohort(start=timezone.now().date() - timedelta(days=15))
    message = _welcome(make_learner(cohort, "amira@example.org", language="ar"))
    assert "نحن الآن في الأسبوع 3" in message.body and "we are in week" not in message.body
    # A course's own welcome that says nothing of stages gets the built-in note put first,
    # in the language of the learner's variant.
    email = CourseEmail.objects.create(cohort=cohort, trigger="welcome", subject="Hello", body="Hello.")
    CourseEmailVariant.objects.create(email=email, language="ar", subject="أهلًا", body="أهلًا {{ learner.first_name }}.")
    message = _welcome(make_learner(cohort, "omar@example.org", language="ar"))
    assert message.body.startswith("> **انضممت في الأسبوع 3.**"), message.body[:80]


def _built_in_emails():
    """The built-in email files (name.md) and the languages each is translated into (name.<lang>.md)."""
    files: dict[str, set[str]] = {}
    for path in scheduling.TEMPLATES.glob("*.md"):
        stem, _, language = path.stem.partition(".")
        files.setdefault(stem, set()).add(language)
    return files


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE])
def test_every_shipped_language_has_every_built_in_email(language):
    files = _built_in_emails()
    assert {"default_welcome", "late_note"} <= set(files)
    lacking = sorted(stem for stem, languages in files.items() if language not in languages)
    assert not lacking, f"no {language} translation of {lacking} in {scheduling.TEMPLATES}"


def test_each_built_in_email_translation_keeps_every_placeholder_and_tag():
    import re

    marks = re.compile(r"\{\{ *[\w.]+ *\}\}|\{%[^%]*%\}|\]\(\{\{ *[\w.]+ *\}\}\)")
    for original in scheduling.TEMPLATES.glob("*.md"):
        if "." in original.stem:
            continue
        wanted = sorted(marks.findall(original.read_text(encoding="utf-8")))
        for translated in scheduling.TEMPLATES.glob(f"{original.stem}.*.md"):
            assert sorted(marks.findall(translated.read_text(encoding="utf-8"))) == wanted, translated.name
