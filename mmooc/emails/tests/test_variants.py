"""Course emails per language: each learner gets the variant of their language, the others the
email itself; pausing, resuming and cancelling cover every language's copies."""

from __future__ import annotations

from datetime import time

import pytest

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import make_learner

pytestmark = pytest.mark.django_db


def _email(cohort, **fields):
    fields = {"subject": "Week one of {{ course.title }}", "body": "Hello {{ learner.first_name }}, we start "
              "on {{ cohort.start_date }}.", "schedule": CourseEmail.NOW, **fields}
    return CourseEmail.objects.create(cohort=cohort, **fields)


def _variant(email, language, subject, body):
    return CourseEmailVariant.objects.create(email=email, language=language, subject=subject, body=body)


@pytest.fixture
def mixed(cohort):
    """Learners writing Portuguese ("pt" and "pt-br"), English, Spanish and French."""
    return {"pt": make_learner(cohort, "ana@example.org", name="Ana Souza", language="pt"),
            "ptbr": make_learner(cohort, "joao@example.org", name="João Silva", language="pt-br"),
            "en": make_learner(cohort, "bob@example.org", name="Bob Smith", language="en"),
            "es": make_learner(cohort, "lucia@example.org", name="Lucía Pérez", language="es"),
            "fr": make_learner(cohort, "zoe@example.org", name="Zoé Martin", language="fr")}


def _stored_text(delivery):
    from email import message_from_bytes, policy

    return message_from_bytes(bytes(delivery.stored), policy=policy.default).get_body(("plain",)).get_content()


def _text(received):
    return received.message.get_body(("plain",)).get_content()


def test_each_learner_gets_their_languages_variant_over_smtp(cohort, mixed, organizer, smtp_server, settings):
    settings.EMAIL_CONFIG = parse_email_url(smtp_server.url)
    settings.MAIL_RATE_LIMIT = 0
    email = _email(cohort)
    _variant(email, "pt-br", "Semana um de {{ course.title }}", "Olá {{ learner.first_name }}, começamos em "
             "{{ cohort.start_date }}.")
    assert scheduling.schedule(email, organizer, hold=False) == 5
    assert engine.drain() == 5
    ana, joao = smtp_server.messages_to("ana@example.org")[0], smtp_server.messages_to("joao@example.org")[0]
    bob, lucia = smtp_server.messages_to("bob@example.org")[0], smtp_server.messages_to("lucia@example.org")[0]
    zoe = smtp_server.messages_to("zoe@example.org")[0]
    for portuguese, name in ((ana, "Ana"), (joao, "João")):
        assert portuguese.message["Subject"].startswith("Semana um de")
        assert portuguese.message["Content-Language"] == "pt-br"
        assert f"Olá {name}, começamos em" in _text(portuguese) and "de março de 2027" in _text(portuguese)
    # Spanish has no variant of this email, French no translation: both get it as written.
    for english, name in ((bob, "Bob"), (lucia, "Lucía"), (zoe, "Zoé")):
        assert english.message["Subject"].startswith("Week one of")
        assert english.message["Content-Language"] is None
        assert f"Hello {name}, we start on Monday 8 March 2027" in _text(english)
    email.refresh_from_db()
    variant = email.variants.get()
    assert variant.message is not None and variant.message.headers == {"Content-Language": "pt-br"}
    assert set(scheduling.messages_of(email)) == {email.message, variant.message}
    assert scheduling.progress_of(email)[Delivery.SENT] == 5
    scheduling.refresh_state(email)
    assert email.state == CourseEmail.SENT


def test_a_variant_follows_pt_br_and_pt_BR_and_pt():
    assert {scheduling.variant_language(c) for c in ("pt", "pt-br", "pt_BR", "PT-BR")} == {"pt-br"}
    assert scheduling.variant_language("es") == "es"
    assert scheduling.variant_language("en") == scheduling.variant_language("fr") == ""


def test_no_variant_means_one_message_for_everyone(cohort, mixed, organizer):
    email = _email(cohort)
    assert scheduling.schedule(email, organizer) == 5
    email.refresh_from_db()
    assert scheduling.messages_of(email) == [email.message]
    assert email.message.deliveries.count() == 5 and email.message.headers == {}


def _scheduled_in_three_languages(cohort, organizer):
    email = _email(cohort, schedule=CourseEmail.RELATIVE, day_offset=0, local_time=time(9, 0))
    _variant(email, "pt-br", "Semana um", "Olá {{ learner.first_name }}.")
    _variant(email, "es", "Semana uno", "Hola {{ learner.first_name }}.")
    scheduling.schedule(email, organizer)
    email.refresh_from_db()
    return email


def test_pause_resume_and_cancel_cover_every_languages_copies(client, organizer, cohort, mixed, frozen):
    email = _scheduled_in_three_languages(cohort, organizer)
    sent = scheduling.messages_of(email)
    assert len(sent) == 3 and sorted(m.deliveries.count() for m in sent) == [1, 2, 2]
    client.force_login(organizer)
    page = client.get(f"/dashboard/emails/{email.public_id}/")
    assert page.status_code == 200
    client.post(f"/dashboard/emails/{email.public_id}/pause/")
    assert {m.state for m in Message.objects.filter(pk__in=[m.pk for m in sent])} == {Message.PAUSED}
    client.post(f"/dashboard/emails/{email.public_id}/resume/")
    assert {m.state for m in Message.objects.filter(pk__in=[m.pk for m in sent])} == {Message.ACTIVE}
    client.post(f"/dashboard/emails/{email.public_id}/cancel/")
    assert set(Delivery.objects.filter(message__in=sent).values_list("status", flat=True)) == {Delivery.CANCELLED}
    email.refresh_from_db()
    assert email.state == CourseEmail.CANCELLED


def test_the_overview_counts_every_languages_copies_as_the_emails_page_does(client, organizer, cohort, mixed,
                                                                           frozen, settings):
    email = _scheduled_in_three_languages(cohort, organizer)
    client.force_login(organizer)
    for counts_seconds in (0, 3600):  # counted on the look, and as the mailer's job keeps them
        settings.MAIL_COUNTS_SECONDS = counts_seconds
        overview = client.get(f"/dashboard/cohorts/{cohort.slug}/")
        row = next(r for r in overview.context["emails"] if r.email.pk == email.pk)
        assert row.copies.waiting == 5 == sum(scheduling.progress_of(email).values())  # not the 2 in English
        assert scheduling.counts_of_emails([email])[email.pk] == scheduling.counts_of(email)


def test_replacing_a_scheduled_email_requeues_every_language(cohort, mixed, organizer, frozen):
    email = _scheduled_in_three_languages(cohort, organizer)
    old = scheduling.messages_of(email)
    email.variants.filter(language="es").update(body="¡Hola {{ learner.first_name }}!")
    assert scheduling.replace(email, organizer) == 5
    email.refresh_from_db()
    new = scheduling.messages_of(email)
    assert len(new) == 3 and not set(new) & set(old)
    assert set(Delivery.objects.filter(message__in=old).values_list("status", flat=True)) == {Delivery.CANCELLED}
    spanish = email.variants.get(language="es").message
    assert spanish.body.startswith("¡Hola") and spanish.deliveries.get().recipient == "lucia@example.org"


def test_a_late_portuguese_signup_joins_the_portuguese_copies(cohort, mixed, organizer, frozen):
    email = _scheduled_in_three_languages(cohort, organizer)
    late = make_learner(cohort, "bia@example.org", language="pt")
    assert scheduling.add_late_learner(late) == 1
    assert Delivery.objects.get(ref=str(late.public_id)).message == email.variants.get(language="pt-br").message


def test_the_sending_page_names_the_languages_without_a_variant(client, organizer, cohort, mixed, frozen):
    email = _email(cohort, schedule=CourseEmail.RELATIVE, day_offset=0, local_time=time(9, 0))
    _variant(email, "es", "Semana uno", "Hola.")
    assert [(code, n) for code, _name, n in scheduling.missing_variants(email)] == [("pt-br", 2)]
    scheduling.schedule(email, organizer)
    client.force_login(organizer)
    html = client.get(f"/dashboard/emails/{email.public_id}/").content.decode()
    assert "2 learners write Português (Brasil)" in html and "they get the email as written" in html


def test_the_courses_welcome_goes_out_in_the_variant_of_the_learners_language(cohort, frozen):
    from mmooc.learners.models import Learner
    from mmooc.learners.signals import learner_confirmed

    email = _email(cohort, trigger=CourseEmail.TRIGGER_WELCOME, subject="Welcome to {{ course.title }}",
                   body="We start on {{ cohort.start_date }}.")
    _variant(email, "es", "Te damos la bienvenida a {{ course.title }}", "Empezamos el {{ cohort.start_date }}.")

    def welcome(learner):
        learner_confirmed.send(sender=Learner, learner=learner)
        return Delivery.objects.get(ref=str(learner.public_id), message__tag="welcome").message

    lucia, pablo = welcome(make_learner(cohort, language="es")), welcome(make_learner(cohort, language="es"))
    bob = welcome(make_learner(cohort, language="en"))
    assert lucia == pablo != bob
    assert lucia.subject.startswith("Te damos la bienvenida") and "8 de marzo de 2027" in lucia.body
    assert lucia.headers == {"Content-Language": "es"} and email.variants.get().message == lucia
    assert bob.subject.startswith("Welcome to") and "Monday 8 March 2027" in bob.body and bob.headers == {}


def test_a_paused_email_holds_every_languages_copies_in_the_engine(client, organizer, cohort, mixed, smtp_server,
                                                                   settings):
    settings.EMAIL_CONFIG = parse_email_url(smtp_server.url)
    settings.MAIL_RATE_LIMIT = 0
    email = _email(cohort)
    _variant(email, "pt-br", "Semana um", "Olá {{ learner.first_name }}.")
    _variant(email, "es", "Semana uno", "Hola {{ learner.first_name }}.")
    scheduling.schedule(email, organizer, hold=False)
    client.force_login(organizer)
    client.post(f"/dashboard/emails/{email.public_id}/pause/")
    assert engine.drain() == 0 and smtp_server.received == []
    client.post(f"/dashboard/emails/{email.public_id}/resume/")
    assert engine.drain() == 5
    subjects = {r.rcpt_tos[0]: r.message["Subject"] for r in smtp_server.received}
    english = f"Week one of {cohort.course.title}"
    assert subjects == {"ana@example.org": "Semana um", "joao@example.org": "Semana um",
                        "lucia@example.org": "Semana uno", "bob@example.org": english, "zoe@example.org": english}


def test_the_archive_feed_calendar_and_web_copy_serve_each_language(client, cohort, mixed, organizer, settings):
    from mmooc.emails.links import view_url

    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    email = _email(cohort)
    _variant(email, "es", "Semana uno de {{ course.title }}", "Hola, empezamos el {{ cohort.start_date }}.")
    scheduling.schedule(email, organizer, hold=False)
    engine.drain()
    email.refresh_from_db()
    spanish = email.variants.get().message
    assert f"({view_url(email)}?lang=es)" in spanish.footer and "?lang=" not in email.message.footer
    web = f"/emails/{email.public_id}/"
    assert "Semana uno de" in client.get(web + "?lang=es").content.decode()
    assert "8 de marzo de 2027" in client.get(web, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Week one of" in client.get(web + "?lang=fr").content.decode()
    base = f"/{cohort.course.slug}/{cohort.slug}/"
    archive = client.get(base + "archive/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Semana uno de" in archive and f"{web}?lang=es" in archive
    assert "Week one of" in client.get(base + "archive/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    feed = client.get(base + "feed.atom?lang=es").content.decode()
    assert 'xml:lang="es"' in feed and "Semana uno de" in feed
    week2 = _email(cohort, subject="Week two", schedule=CourseEmail.RELATIVE, day_offset=7, local_time=time(9, 0))
    _variant(week2, "es", "Semana dos", "Hola.")
    assert "Correo del curso: Semana dos" in client.get(base + "calendar.ics?lang=es").content.decode()
    assert "Course email: Week two" in client.get(base + "calendar.ics").content.decode()


def test_a_variants_dates_and_calendar_link_follow_its_language(client, cohort, mixed, organizer, settings):
    """The web copy's date is written as the language writes dates, and the calendar link a
    variant's readers get gives the calendar in their language."""
    from django.utils import translation

    from mmooc.lib import clock

    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    email = _email(cohort, body="Hello, {{ calendar_url }}")
    _variant(email, "pt-br", "Semana um", "Olá, {{ calendar_url }}")
    scheduling.schedule(email, organizer, hold=False)
    engine.drain()
    email.refresh_from_db()
    portuguese = email.variants.get().message
    joao = Delivery.objects.get(message=portuguese, recipient="joao@example.org")
    assert "calendar.ics?tz=UTC&lang=pt-br\r\n" in _stored_text(joao)
    english = Delivery.objects.get(message=email.message, recipient="bob@example.org")
    assert "calendar.ics?tz=UTC\r\n" in _stored_text(english)
    page = client.get(f"/emails/{email.public_id}/?lang=pt-br").content.decode()
    with translation.override("pt-br"):
        sent = clock.day(Delivery.objects.filter(message=portuguese).first().sent_at)
    assert f"Enviado em {sent}" in page and 'lang="pt-br"' in page
    archive = client.get(f"/{cohort.course.slug}/{cohort.slug}/archive/?lang=pt-br").content.decode()
    with translation.override("pt-br"):
        assert clock.short_day(email.message.deliveries.first().sent_at) in archive


def test_an_email_only_spanish_learners_received_is_in_the_archive(client, cohort, organizer, settings):
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    make_learner(cohort, language="es")
    email = _email(cohort)
    _variant(email, "es", "Semana uno", "Hola.")
    scheduling.schedule(email, organizer, hold=False)
    engine.drain()
    assert client.get(f"/emails/{email.public_id}/").status_code == 200


def test_learners_read_in_several_batches_each_get_their_languages_copy_once(cohort, mixed, organizer,
                                                                             monkeypatch):
    # Batches of two: each batch's copies are made in a helper thread while the one before is
    # written; every language's message gets its learners, none twice, none lost.
    monkeypatch.setattr(scheduling, "BATCH", 2)
    email = _email(cohort)
    _variant(email, "pt-br", "Semana um de {{ course.title }}", "Olá {{ learner.first_name }}.")
    assert scheduling.schedule(email, organizer, hold=False) == 5
    email.refresh_from_db()
    portuguese = email.variants.get().message
    assert sorted(portuguese.deliveries.values_list("recipient", flat=True)) == ["ana@example.org",
                                                                                "joao@example.org"]
    assert sorted(email.message.deliveries.values_list("recipient", flat=True)) == [
        "bob@example.org", "lucia@example.org", "zoe@example.org"]
