from __future__ import annotations

from collections import Counter

import pytest

from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery, Event
from mmooc.testing import facilitating

pytestmark = pytest.mark.cohort_data(n=300)


def page(data):
    return f"/dashboard/emails/{data.email.public_id}/"


def test_it_counts_copies_per_status(client, organizer, data):
    client.force_login(organizer)
    r = client.get(page(data) + "progress.json")
    body = r.json()
    expected = Counter(d.status for d in data.deliveries)
    assert body["counts"] == {s: expected[s] for s, _ in Delivery.STATUSES}
    assert body["total"] == len(data.deliveries)
    finished = sum(expected[s] for s in ("sent", "failed", "suppressed", "cancelled"))
    assert body["done"] == finished
    assert body["percent"] == round(100 * finished / len(data.deliveries), 1)
    assert body["finished"] is False and r["Cache-Control"] == "no-store"


def test_it_counts_the_funnel_as_distinct_deliveries_per_event(client, organizer, data):
    client.force_login(organizer)
    r = client.get(page(data))
    sent = [d for d in data.deliveries if d.status == Delivery.SENT]
    per_type: dict[str, set[int]] = {}
    for e in Event.objects.all():
        per_type.setdefault(e.event_type, set()).add(e.delivery_id)
    funnel = {step.name: (step.count, step.rate) for step in r.context["funnel"]}
    assert funnel["sent"] == (len(sent), 100.0)
    for name in ["delivered", "bounced", "complained", "opened", "clicked", "unsubscribed"]:
        n = len(per_type.get(name, set()))
        assert funnel[name] == (n, round(100 * n / len(sent), 1)), name
    assert funnel["opened"][0] < Event.objects.filter(event_type="opened").count()  # repeats count once
    assert f'data-funnel="opened">{funnel["opened"][0]}<'.encode() in r.content


def test_it_shows_an_email_that_has_not_started(client, organizer, data):
    email = CourseEmail.objects.create(cohort=data.cohort, subject="Later", body="x",
                                       audience={"kind": "all"})
    client.force_login(organizer)
    r = client.get(f"/dashboard/emails/{email.public_id}/")
    assert r.status_code == 200
    assert r.context["summary"]["total"] == 0 and r.context["actions"] == []
    assert client.get(f"/dashboard/emails/{email.public_id}/progress.json").json()["state"] == "not-started"


def test_it_offers_pause_and_cancel_to_an_organizer(client, organizer, data):
    client.force_login(organizer)
    r = client.get(page(data))
    assert b'data-action="pause"' in r.content and b'data-action="cancel"' in r.content


def test_it_offers_no_buttons_to_a_facilitator(client, facilitator, data):
    client.force_login(facilitating(facilitator, data.cohort))
    r = client.get(page(data))
    assert r.status_code == 200
    assert b"data-action=" not in r.content
    assert client.get(page(data) + "progress.json").status_code == 200


def test_it_refuses_an_outsider(client, outsider, data):
    client.force_login(outsider)
    state = data.email.state
    assert client.get(page(data)).status_code == 403
    assert client.get(page(data) + "progress.json").status_code == 403
    data.email.refresh_from_db()
    assert data.email.state == state  # the page moves the state on only for staff


def test_it_sends_anonymous_visitors_to_sign_in(client, data):
    assert client.get(page(data)).status_code == 302
    assert client.get(page(data) + "progress.json").status_code == 302


def test_it_answers_404_for_an_unknown_email(client, organizer, db):
    client.force_login(organizer)
    assert client.get("/dashboard/emails/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_it_refuses_post(client, organizer, data):
    client.force_login(organizer)
    state = data.email.state
    assert client.post(page(data)).status_code == 405
    assert client.post(page(data) + "progress.json").status_code == 405
    data.email.refresh_from_db()
    assert data.email.state == state


def test_it_links_to_the_compose_page_and_the_outbox(client, organizer, data):
    client.force_login(organizer)
    r = client.get(page(data))
    assert f"/dashboard/cohorts/{data.cohort.slug}/emails/{data.email.public_id}/".encode() in r.content
    assert f"/outbox/{data.message.public_id}/".encode() in r.content


def test_the_page_shows_an_email_as_sent_once_every_copy_has_left(client, organizer, data):
    email = data.email
    CourseEmail.objects.filter(pk=email.pk).update(state=CourseEmail.SCHEDULED)
    email.message.deliveries.update(status=Delivery.SENT)
    client.force_login(organizer)
    r = client.get(page(data))
    assert b'class="badge state-sent">Sent<' in r.content
    assert CourseEmail.objects.get(pk=email.pk).state == CourseEmail.SENT
