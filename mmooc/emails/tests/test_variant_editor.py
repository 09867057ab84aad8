"""The dashboard's editor of an email's variant per language: add, change, remove, preview."""

from __future__ import annotations

from datetime import time

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.mailer.models import Delivery
from mmooc.testing import facilitating, make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def email(cohort):
    return CourseEmail.objects.create(cohort=cohort, subject="Week one", body="Hello {{ learner.first_name }}.",
                                      audience={"kind": "all"},
                                      schedule=CourseEmail.RELATIVE, day_offset=0, local_time=time(9, 0))


def _url(email, language="pt-br"):
    return f"/dashboard/cohorts/{email.cohort.slug}/emails/{email.public_id}/languages/{language}"


def test_the_compose_page_says_which_languages_lack_a_variant_and_for_how_many(client, organizer, cohort, email):
    for language in ("pt", "pt-br", "pt", "es", "fr"):
        make_learner(cohort, language=language)
    CourseEmailVariant.objects.create(email=email, language="es", subject="Semana uno", body="Hola.")
    client.force_login(organizer)
    html = client.get(f"/dashboard/cohorts/{cohort.slug}/emails/{email.public_id}/").content.decode()
    assert "3 learners write Português (Brasil): they get this email as written" in html
    assert "Add a Português (Brasil) variant" in html and "Add a Español variant" not in html


def test_staff_add_change_and_remove_a_variant(client, organizer, email):
    client.force_login(organizer)
    page = client.get(_url(email))
    assert page.status_code == 200 and "Hello {{ learner.first_name }}." in page.content.decode()  # starts from it
    response = client.post(_url(email), {"subject": "Semana um", "body": "Olá {{ learner.first_name }}.",
                                         "action": "save"})
    assert response.status_code == 302
    variant = email.variants.get()
    assert (variant.language, variant.subject) == ("pt-br", "Semana um")
    client.post(_url(email), {"subject": "Semana 1", "body": "Oi {{ learner.first_name }}.", "action": "save"})
    assert email.variants.get().body == "Oi {{ learner.first_name }}."
    client.post(_url(email), {"action": "remove"})
    assert not email.variants.exists()
    assert list(AuditEntry.objects.filter(action__startswith="email.variant").values_list("action", flat=True)
                .order_by("pk")) == ["email.variant-saved", "email.variant-saved", "email.variant-removed"]


def test_the_preview_is_in_the_variants_language(client, organizer, email, cohort):
    learner = make_learner(cohort, "ana@example.org", name="Ana Souza", language="pt")
    client.force_login(organizer)
    html = client.post(_url(email), {"subject": "Semana um", "body": "Olá {{ learner.first_name }}, começa em "
                                     "{{ cohort.start_date }}.", "action": "preview"}).content.decode()
    assert "Olá Ada, começa em" in html and "de março de 2027" in html
    assert not email.variants.exists()  # a preview saves nothing
    CourseEmailVariant.objects.create(email=email, language="pt-br", subject="Semana um", body="Olá "
                                      "{{ learner.first_name }}.")
    html = client.post(f"/dashboard/cohorts/{cohort.slug}/emails/{email.public_id}/", {
        "subject": email.subject, "body": email.body, "audience": "all", "schedule": "relative", "day": 0,
        "time": "09:00", "preview_as": learner.email, "action": "preview"}).content.decode()
    assert "Olá Ana." in html and "the learner&#x27;s language" in html


@pytest.mark.parametrize("data, problem", [
    ({"subject": "", "body": "Olá."}, "This field is required"),
    ({"subject": "Semana\num", "body": "Olá."}, "one line"),
    ({"subject": "x" * 301, "body": "Olá."}, "at most 300 characters"),
    ({"subject": "Semana", "body": "x" * 100_001}, "at most 100000 characters"),
    ({"subject": "Semana", "body": "Olá {{ nope }}."}, "unknown variable nope"),
    ({"subject": "Semana", "body": "{% for r in %}"}, "Body, line 1"),
])
def test_malformed_variants_are_refused_and_nothing_is_saved(client, organizer, email, data, problem):
    client.force_login(organizer)
    response = client.post(_url(email), {**data, "action": "save"})
    assert response.status_code == 400 and problem in response.content.decode()
    assert not CourseEmailVariant.objects.exists()


def test_unknown_languages_are_not_found_and_readers_cannot_write(client, organizer, facilitator, email):
    client.force_login(organizer)
    for language in ("en", "fr", "xx", "pt_BR%2F..", "<script>"):
        assert client.get(_url(email, language)).status_code == 404
    client.force_login(facilitating(facilitator, email.cohort))
    assert client.get(_url(email)).status_code == 200
    assert client.post(_url(email), {"subject": "S", "body": "B", "action": "save"}).status_code == 403
    assert not CourseEmailVariant.objects.exists()


def test_saving_a_variant_of_a_scheduled_email_queues_every_language_again(client, organizer, cohort, email, frozen):
    make_learner(cohort, "ana@example.org", language="pt")
    make_learner(cohort, "bob@example.org", language="en")
    scheduling.schedule(email, organizer)
    email.refresh_from_db()
    old = email.message
    client.force_login(organizer)
    client.post(_url(email), {"subject": "Semana um", "body": "Olá.", "action": "save"})
    email.refresh_from_db()
    variant = email.variants.get()
    assert email.state == CourseEmail.SCHEDULED and email.message != old
    assert variant.message.deliveries.get().recipient == "ana@example.org"
    assert email.message.deliveries.get().recipient == "bob@example.org"
    assert set(old.deliveries.values_list("status", flat=True)) == {Delivery.CANCELLED}
    client.post(_url(email), {"action": "remove"})
    email.refresh_from_db()
    assert sorted(email.message.deliveries.values_list("recipient", flat=True)) == ["ana@example.org",
                                                                                     "bob@example.org"]
    assert scheduling.progress_of(email)[Delivery.QUEUED] == 2


def test_a_sent_email_keeps_its_variants(client, organizer, email):
    CourseEmail.objects.filter(pk=email.pk).update(state=CourseEmail.SENT)
    client.force_login(organizer)
    assert client.post(_url(email), {"subject": "S", "body": "B", "action": "save"}).status_code == 409
    assert not CourseEmailVariant.objects.exists()


def test_a_duplicate_keeps_the_variants(organizer, email):
    CourseEmailVariant.objects.create(email=email, language="es", subject="Semana uno", body="Hola.")
    copy = scheduling.duplicate(email, organizer)
    assert list(copy.variants.values_list("language", "subject")) == [("es", "Semana uno")]
