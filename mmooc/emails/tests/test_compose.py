from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery
from mmooc.testing import facilitating

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "far_apart")]




def _form(**fields):
    data = {"subject": "Week {{ module.position }}", "body": "Hi {{ learner.first_name }}\n",
            "module": "1", "audience": "all", "schedule": "local", "day": "7", "time": "09:00"}
    data.update(fields)
    return data


def _new_url(cohort):
    return f"/dashboard/cohorts/{cohort.slug}/emails/new"


def test_it_shows_the_compose_page(client, organizer, cohort):
    client.force_login(organizer)
    response = client.get(_new_url(cohort))
    assert response.status_code == 200
    assert b"learner.first_name" in response.content and b"Save and schedule" in response.content


def test_it_saves_a_draft(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(_new_url(cohort), _form(action="save"))
    email = CourseEmail.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/emails/{email.public_id}/")
    assert (email.state, email.schedule, email.day_offset, email.local_time) == (
        CourseEmail.DRAFT, CourseEmail.LOCAL, 7, time(9))
    assert email.module.position == 1 and email.created_by == organizer


def test_it_saves_and_schedules_for_local_time(client, organizer, cohort):
    client.force_login(organizer)
    client.post(_new_url(cohort), _form(action="schedule"))
    email = CourseEmail.objects.get()
    assert email.state == CourseEmail.SCHEDULED
    times = sorted(email.message.deliveries.values_list("not_before", flat=True))
    assert times == [datetime(2027, 3, 15, 3, 30, tzinfo=UTC), datetime(2027, 3, 15, 19, 0, tzinfo=UTC)]


def test_it_reports_a_template_error_with_its_line_and_does_not_schedule(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(_new_url(cohort), _form(body="Hi\n{{ learner.shoe_size }}", action="schedule"),
                           follow=True)
    assert response.status_code == 400
    assert "line 2: unknown variable learner.shoe_size" in response.content.decode()
    assert not CourseEmail.objects.exists()


def test_it_keeps_a_draft_with_problems_and_says_so(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(_new_url(cohort), _form(body="{% if %}", action="save"), follow=True)
    assert "cannot be scheduled until these are fixed" in response.content.decode()
    assert CourseEmail.objects.get().state == CourseEmail.DRAFT


def test_it_previews_without_javascript(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(_new_url(cohort), _form(action="preview", body="Hi **{{ learner.first_name }}**"))
    assert response.status_code == 200
    assert "Hi <strong>Ada</strong>" in response.content.decode()
    assert not CourseEmail.objects.exists()


def test_it_reschedules_when_only_the_time_changes(client, organizer, cohort):
    client.force_login(organizer)
    client.post(_new_url(cohort), _form(action="schedule"))
    email = CourseEmail.objects.get()
    client.post(f"/dashboard/cohorts/py-1/emails/{email.public_id}/", _form(action="save", day="8"))
    email.refresh_from_db()
    assert email.day_offset == 8 and email.message.deliveries.filter(status=Delivery.QUEUED).count() == 2
    assert min(email.message.deliveries.values_list("not_before", flat=True)) == datetime(
        2027, 3, 16, 3, 30, tzinfo=UTC)


def test_it_refuses_a_bad_schedule_with_a_message(client, organizer, cohort):
    client.force_login(organizer)
    response = client.post(_new_url(cohort), _form(schedule="at", action="save"))
    assert response.status_code == 400
    assert "choose the date and time to send it" in response.content.decode()
    assert not CourseEmail.objects.exists()


def test_it_lets_a_facilitator_read_but_not_save(client, facilitator, cohort):
    client.force_login(facilitating(facilitator, cohort))
    assert client.get(_new_url(cohort)).status_code == 200
    assert client.post(_new_url(cohort), _form(action="save")).status_code == 403
    assert not CourseEmail.objects.exists()


def test_it_refuses_outsiders(client, outsider, cohort):
    client.force_login(outsider)
    assert client.get(_new_url(cohort)).status_code == 403
    assert client.post(_new_url(cohort), _form()).status_code == 403
    assert not CourseEmail.objects.exists()


def test_it_answers_404_for_an_unknown_cohort(client, organizer):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/nope/emails/new").status_code == 404


def test_it_refuses_other_methods(client, organizer, cohort):
    client.force_login(organizer)
    assert client.put(_new_url(cohort)).status_code == 405
    assert not CourseEmail.objects.exists()


def test_it_refuses_to_change_a_sent_email(client, organizer, cohort):
    email = CourseEmail.objects.create(cohort=cohort, subject="Old", body="Old", state=CourseEmail.SENT)
    client.force_login(organizer)
    response = client.post(f"/dashboard/cohorts/py-1/emails/{email.public_id}/", _form(action="save"))
    assert response.status_code == 409
    email.refresh_from_db()
    assert email.subject == "Old"


def test_it_saves_a_welcome_email(client, organizer, cohort):
    client.force_login(organizer)
    client.post(_new_url(cohort), _form(action="save", welcome="on"))
    email = CourseEmail.objects.get()
    assert email.trigger == "welcome" and email.state == CourseEmail.DRAFT


def test_it_refuses_a_second_welcome_email(client, organizer, cohort):
    CourseEmail.objects.create(cohort=cohort, subject="Welcome", body="Hi", trigger="welcome")
    client.force_login(organizer)
    response = client.post(_new_url(cohort), _form(action="save", welcome="on"))
    assert response.status_code == 400 and "already has a welcome email" in response.content.decode()
    assert CourseEmail.objects.count() == 1


def test_the_page_of_an_email_reads_its_audience_once(client, organizer, cohort):
    """Its size, the learners without a translation and the first and last send times come from
    one statement over the audience (each reads every confirmed learner of the cohort)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    client.post(_new_url(cohort), _form(action="save"))
    email = CourseEmail.objects.get()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/dashboard/cohorts/{cohort.slug}/emails/{email.public_id}/")
    assert response.context["preview"]["count"] == 2
    assert "UTC to" in response.context["preview"]["timing"]  # two zones: a first and a last time
    assert len([q for q in queries.captured_queries if '"mailer_suppression"' in q["sql"]]) == 1
