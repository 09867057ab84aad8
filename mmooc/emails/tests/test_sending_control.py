from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery, Message

pytestmark = pytest.mark.cohort_data(n=60)


def post(client, data, action):
    return client.post(f"/dashboard/emails/{data.email.public_id}/{action}/")


def statuses(data):
    return sorted(Delivery.objects.filter(message=data.message).values_list("status", flat=True))


def test_it_pauses_and_records_it(client, organizer, data):
    client.force_login(organizer)
    r = post(client, data, "pause")
    assert r.status_code == 302
    data.message.refresh_from_db()
    assert data.message.state == Message.PAUSED
    entry = AuditEntry.objects.get(action="email.paused")
    assert entry.actor == organizer and entry.object_id == str(data.email.pk)
    assert entry.details["message"] == str(data.message.public_id)


def test_it_resumes_and_records_it(client, organizer, data):
    Message.objects.filter(pk=data.message.pk).update(state=Message.PAUSED)
    client.force_login(organizer)
    assert post(client, data, "resume").status_code == 302
    data.message.refresh_from_db()
    assert data.message.state == Message.ACTIVE
    assert AuditEntry.objects.filter(action="email.resumed", actor=organizer).count() == 1


def test_it_cancels_the_copies_not_yet_sent_and_records_it(client, organizer, data):
    before = statuses(data)
    client.force_login(organizer)
    assert post(client, data, "cancel").status_code == 302
    after = dict.fromkeys(Delivery.objects.filter(message=data.message).values_list("status", flat=True))
    assert "queued" not in after and "deferred" not in after
    assert before.count("sent") == statuses(data).count("sent")
    assert AuditEntry.objects.filter(action="email.cancelled").count() == 1
    data.email.refresh_from_db()
    assert data.email.state == "cancelled"


def test_it_refuses_to_resume_what_is_not_paused_and_changes_nothing(client, organizer, data):
    client.force_login(organizer)
    r = post(client, data, "resume")
    assert r.status_code == 400 and b"Sending is not paused." in r.content
    assert not AuditEntry.objects.exists()


def test_it_refuses_to_act_on_a_cancelled_send(client, organizer, data):
    Message.objects.filter(pk=data.message.pk).update(state=Message.CANCELLED)
    client.force_login(organizer)
    r = post(client, data, "pause")
    assert r.status_code == 400 and b"cancelled" in r.content
    assert not AuditEntry.objects.exists()


def test_it_refuses_an_email_that_has_not_started(client, organizer, data):
    email = CourseEmail.objects.create(cohort=data.cohort, subject="Later", body="x",
                                       audience={"kind": "all"})
    client.force_login(organizer)
    r = client.post(f"/dashboard/emails/{email.public_id}/cancel/")
    assert r.status_code == 400 and b"has not started sending" in r.content


def test_it_refuses_a_facilitator_and_changes_nothing(client, facilitator, data):
    before = statuses(data)
    client.force_login(facilitator)
    for action in ("pause", "resume", "cancel"):
        assert post(client, data, action).status_code == 403
    data.message.refresh_from_db()
    assert data.message.state == Message.ACTIVE and statuses(data) == before
    assert not AuditEntry.objects.exists()


def test_it_refuses_an_outsider(client, outsider, data):
    client.force_login(outsider)
    assert post(client, data, "cancel").status_code == 403
    assert statuses(data).count("queued") > 0


def test_it_sends_anonymous_visitors_to_sign_in(client, data):
    assert post(client, data, "cancel").status_code == 302
    assert statuses(data).count("queued") > 0


def test_it_refuses_get(client, organizer, data):
    client.force_login(organizer)
    assert client.get(f"/dashboard/emails/{data.email.public_id}/cancel/").status_code == 405
    assert statuses(data).count("queued") > 0


def test_it_answers_404_for_an_unknown_action(client, organizer, data):
    client.force_login(organizer)
    assert post(client, data, "explode").status_code == 404
    data.message.refresh_from_db()
    assert data.message.state == Message.ACTIVE and not AuditEntry.objects.exists()
