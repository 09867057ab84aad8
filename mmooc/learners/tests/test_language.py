"""A learner's language: chosen at signup, changed on their page, used for their pages and mail."""

from __future__ import annotations

from datetime import date

import pytest

from mmooc.learners import links, mail
from mmooc.learners.models import LearnerEvent
from mmooc.learners.tests.helpers import path_of
from mmooc.mailer.models import Delivery

pytestmark = [pytest.mark.django_db, pytest.mark.cohort(start=date(2030, 3, 4), tz="UTC"),
              pytest.mark.learner(timezone="America/Sao_Paulo", language="en")]


def page(learner):
    return path_of(links.learner_page_url(learner))


def _preferences(language):
    return {"name": "Ana Souza", "timezone": "America/Sao_Paulo", "language": language, "group": "group"}


def test_changing_the_language_is_recorded_and_the_page_follows_it(client, learner):
    response = client.post(page(learner), _preferences("pt"))
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.language == "pt"
    event = LearnerEvent.objects.get(learner=learner, kind=LearnerEvent.LANGUAGE_CHANGED)
    assert (event.via, event.note) == ("page", "en → pt")
    content = client.get(page(learner), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="pt-br"' in content and "Preferências" in content and "mudança de idioma" in content
    assert "Suas preferências foram salvas." in content
    assert "segunda-feira, 4 de março de 2030" in content.lower()


def test_saving_the_same_language_records_nothing(client, learner):
    client.post(page(learner), _preferences("en"))
    assert not LearnerEvent.objects.filter(learner=learner, kind=LearnerEvent.LANGUAGE_CHANGED).exists()


@pytest.mark.parametrize("language", ["xx", "pt-BR<script>", "e" * 500, ""])
def test_an_unknown_language_is_refused_and_nothing_changes(client, learner, language):
    response = client.post(page(learner), _preferences(language))
    assert response.status_code == 400
    learner.refresh_from_db()
    assert learner.language == "en"
    assert not LearnerEvent.objects.filter(learner=learner, kind=LearnerEvent.LANGUAGE_CHANGED).exists()


def test_a_learner_page_speaks_the_learners_language_whatever_the_browser_asks(client, learner):
    learner.language = "es"
    learner.save(update_fields=["language"])
    content = client.get(page(learner), HTTP_ACCEPT_LANGUAGE="ar,en;q=0.5").content.decode()
    assert 'lang="es"' in content and "Mi historial" in content


def test_a_language_without_translation_reads_english(client, learner):
    learner.language = "fr"
    learner.save(update_fields=["language"])
    content = client.get(page(learner)).content.decode()
    assert 'lang="en"' in content and "My history" in content


def test_the_landing_page_offers_the_browsers_language_first(client, cohort):
    content = client.get(f"/{cohort.course.slug}/", HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9").content.decode()
    assert 'lang="pt-br"' in content and "Quero me inscrever" in content
    assert '<option value="pt" selected>' in content


def test_confirmation_emails_are_one_message_per_language(learner, cohort):
    from mmooc.testing import make_learner

    portuguese = make_learner(cohort, "ana@example.org", state="pending", language="pt")
    english = make_learner(cohort, "bob@example.org", state="pending", language="en")
    other = make_learner(cohort, "eve@example.org", state="pending", language="pt")
    for someone in (portuguese, english, other):
        mail.send_confirmation(someone)
    copies = {d.recipient: d.message for d in Delivery.objects.filter(message__tag="confirmation")}
    assert copies["ana@example.org"].subject == "Confirme sua vaga no {{ course_title }}"
    assert copies["bob@example.org"].subject == mail.CONFIRM_SUBJECT
    assert copies["ana@example.org"] == copies["eve@example.org"] != copies["bob@example.org"]
