"""The built-in welcome speaks the learner's language; a course's own emails are sent as written."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.utils import translation

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
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
