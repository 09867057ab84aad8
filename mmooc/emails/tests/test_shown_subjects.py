"""Every staff surface shows a course email's subject and state the same way: as learners see
the subject (course values filled in, personal values as markers), the state from one function."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from mmooc import testing
from mmooc.audit.models import AuditEntry
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.learners import mail
from mmooc.mailer.models import Delivery

pytestmark = pytest.mark.django_db
SUBJECT = "Hi {{ learner.first_name }}, welcome to {{ course.title }}"


@pytest.fixture
def email(cohort, far_apart, organizer):
    email = CourseEmail.objects.create(cohort=cohort, subject=SUBJECT, body="Hello", audience={"kind": "all"},
                                       schedule=CourseEmail.AT, send_at=timezone.now() + timedelta(days=2),
                                       key="01-hi")
    scheduling.schedule(email, organizer)
    email.refresh_from_db()
    return email


def expected(cohort) -> str:
    return f"Hi ‹first name›, welcome to {cohort.course.title}"


def test_the_overview_shows_the_subject_as_learners_see_it(client, organizer, cohort, email):
    client.force_login(organizer)
    page = client.get(f"/dashboard/cohorts/{cohort.slug}/").content.decode()
    assert expected(cohort) in page and "{{" not in page


def test_the_sending_page_and_the_edit_page_head_with_the_shown_subject(client, organizer, cohort, email):
    client.force_login(organizer)
    sending = client.get(f"/dashboard/emails/{email.public_id}/").content.decode()
    draft = CourseEmail.objects.create(cohort=cohort, subject="About {{ course.title }}", body="x", day_offset=3)
    edit = client.get(f"/dashboard/cohorts/{cohort.slug}/emails/{draft.public_id}/").content.decode()
    assert f"<h1>{expected(cohort)}</h1>" in sending
    assert f"<h1>About {cohort.course.title}</h1>" in edit


def test_the_audit_log_records_the_shown_subject(client, organizer, cohort, email):
    entry = AuditEntry.objects.get(action="email.scheduled")
    assert expected(cohort) in entry.summary and "{{" not in entry.summary
    AuditEntry.objects.create(actor_name="x", action="older", summary="Scheduled 'Hi {{ learner.first_name }}'")
    client.force_login(organizer)
    page = client.get("/dashboard/audit/").content.decode()
    assert "Scheduled &#x27;Hi ‹first name›&#x27;" in page and "{{" not in page


def test_the_command_line_lists_and_reports_the_shown_subject(cohort, email):
    out = StringIO()
    call_command("email", "list", cohort.slug, stdout=out)
    call_command("email", "status", email.public_id.hex[:8], stdout=out)
    call_command("email", "list", cohort.slug, "--format", "json", stdout=out)
    text = out.getvalue()
    assert text.count(expected(cohort)) == 3 and "{{" not in text


def test_the_outbox_shows_the_confirmation_subject_with_the_course_title(client, organizer, cohort):
    learner = testing.make_learner(cohort, state="pending", name="Ada Lovelace")
    mail.send_confirmation(learner)
    client.force_login(organizer)
    listing = client.get("/outbox/").content.decode()
    message = Delivery.objects.get(recipient=learner.email).message
    detail = client.get(f"/outbox/{message.public_id}/").content.decode()
    title = cohort.course.title
    assert f"Please confirm your place in {title}" in listing and "{{" not in listing
    assert f"<h1>Please confirm your place in {title}</h1>" in detail


def test_deliveries_csv_has_the_shown_subject(client, organizer, cohort, email):
    client.force_login(organizer)
    response = client.get(f"/dashboard/cohorts/{cohort.slug}/export/deliveries.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and {r["message_subject"] for r in rows} == {expected(cohort)}


def test_the_learner_detail_shows_each_subject_as_that_learner_read_it(client, organizer, cohort):
    learner = testing.make_learner(cohort, state="pending", name="Ada Lovelace")
    mail.send_confirmation(learner)
    client.force_login(organizer)
    page = client.get(f"/dashboard/cohorts/{cohort.slug}/learners/{learner.public_id}").content.decode()
    assert f"Please confirm your place in {cohort.course.title}" in page and "{{ course_title }}" not in page


def test_every_surface_agrees_on_the_state_of_a_sent_email(client, organizer, cohort, email):
    """The copies all left while no page looked: every surface says Sent, and Next is not it."""
    email.message.deliveries.update(status=Delivery.SENT, sent_at=timezone.now())
    welcome = CourseEmail.objects.create(cohort=cohort, subject="Welcome", body="x", trigger="welcome")
    client.force_login(organizer)
    overview = client.get(f"/dashboard/cohorts/{cohort.slug}/")
    emails = client.get(f"/dashboard/cohorts/{cohort.slug}/emails/").content.decode()
    out = StringIO()
    call_command("email", "list", cohort.slug, "--format", "json", stdout=out)
    states = {r["id"]: r["state"] for r in json.loads(out.getvalue())}
    rows = {r.email.pk: r.state for r in overview.context["emails"]}
    assert rows[email.pk] == ("sent", "Sent") and states[email.public_id.hex] == "sent"
    assert rows[welcome.pk] == ("active", "Active: sent on confirmation") and states[welcome.public_id.hex] == "active"
    assert "<td>Sent</td>" in emails and "<td>Active: sent on confirmation</td>" in emails
    assert overview.context["next_email"] is None
    assert "Nothing scheduled." in overview.content.decode()
