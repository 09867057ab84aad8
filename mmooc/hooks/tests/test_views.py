"""The webhook pages: add, see, change, rotate, delete, send again; organizers only; hostile input refused."""

from __future__ import annotations

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.hooks import events, sender
from mmooc.hooks.models import Endpoint, HookDelivery

INDEX = "/dashboard/webhooks/"
ADD = "/dashboard/webhooks/add"


def form(**fields: object) -> dict[str, object]:
    return {"name": "CRM", "url": "https://crm.example.org/in", "events": ["learner.confirmed", "learner.left"],
            "cohort": "", "active": "on", **fields}


@pytest.fixture
def signed_in(client, organizer, webhook_receiver):
    client.force_login(organizer)
    return client


def test_an_organizer_adds_an_endpoint_and_sees_its_secret_once(signed_in, cohort, webhook_receiver):
    response = signed_in.post(ADD, form(url=webhook_receiver.url, cohort=cohort.slug))
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    assert (endpoint.url, endpoint.cohort, endpoint.active) == (webhook_receiver.url, cohort, True)
    assert endpoint.events == ["learner.confirmed", "learner.left"]
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(action="webhook.created", object_id=str(endpoint.pk)).exists()
    for page in (INDEX, f"{INDEX}{endpoint.public_id}/"):
        shown = signed_in.get(page)
        assert shown.status_code == 200 and endpoint.secret not in shown.content.decode()


HOSTILE = [
    ("file:///etc/passwd", "Only http:// and https:// addresses"),
    ("javascript:alert(1)", "Only http:// and https:// addresses"),
    ("gopher://crm.example.org/", "Only http:// and https:// addresses"),
    ("https://crm.example.org/" + "a" * 3000, "at most 2000 characters"),
    ("http://10.0.0.7/hook", "private, local or reserved address"),
    ("http://127.0.0.1:8000/hook", "private, local or reserved address"),
    ("http://169.254.169.254/latest/meta-data", "private, local or reserved address"),
    ("http://[::1]/hook", "private, local or reserved address"),
    ("http://[::ffff:192.168.1.1]/hook", "private, local or reserved address"),
    ("http://localhost/hook", "private, local or reserved address"),
    ("https://user:pw@crm.example.org/", "no user name or password"),
    ("https://crm.example.org:99999/", "port is not a number"),
    ("https:///nohost", "has no host name"),
    ("https://crm.example.org/a b", "spaces or control characters"),
    ("https://no-such-host.invalid/", "could not be found"),
]


@pytest.mark.parametrize(("url", "reason"), HOSTILE)
def test_it_refuses_an_address_it_must_not_post_to(signed_in, settings, url, reason):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = signed_in.post(ADD, form(url=url))
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Endpoint.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize(("fields", "reason"), [
    ({"events": []}, "Choose at least one event."),
    ({"events": ["learner.confirmed", "everything"]}, "Select a valid choice"),
    ({"name": "   "}, "Give the endpoint a name."),
    ({"name": "x" * 101}, "at most 100 characters"),
    ({"cohort": "no-such-cohort"}, "Select a valid choice"),
])
def test_it_refuses_a_bad_form_and_says_why(signed_in, webhook_receiver, fields, reason):
    response = signed_in.post(ADD, form(url=webhook_receiver.url, **fields))
    assert response.status_code == 400 and reason in response.content.decode()
    assert not Endpoint.objects.exists()


def test_staff_who_are_not_organizers_and_outsiders_get_403(client, facilitator, outsider, endpoint):
    for user in (facilitator, outsider):
        client.force_login(user)
        for url in (INDEX, f"{INDEX}{endpoint.public_id}/"):
            assert client.get(url).status_code == 403
        assert client.post(ADD, form()).status_code == 403
        assert client.post(f"{INDEX}{endpoint.public_id}/rotate").status_code == 403
    assert Endpoint.objects.get().secret == endpoint.secret


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(client, endpoint):
    response = client.get(INDEX)
    assert response.status_code == 302 and "login" in response["Location"]


def test_wrong_methods_get_405(signed_in, endpoint):
    assert signed_in.post(INDEX).status_code == 405
    assert signed_in.get(ADD).status_code == 405
    assert signed_in.get(f"{INDEX}{endpoint.public_id}/rotate").status_code == 405


def test_an_unknown_endpoint_is_404(signed_in):
    assert signed_in.get(f"{INDEX}00000000-0000-0000-0000-000000000000/").status_code == 404


def test_rotating_the_secret_shows_the_new_one_once_and_signs_with_it(signed_in, endpoint, webhook_receiver):
    old = endpoint.secret
    response = signed_in.post(f"{INDEX}{endpoint.public_id}/rotate")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    assert AuditEntry.objects.filter(action="webhook.secret-rotated").count() == 1


def test_the_delivery_log_shows_status_attempts_code_and_error(signed_in, endpoint, webhook_receiver):
    webhook_receiver.answers = [500]
    events.emit(events.EMAIL_SENT, {})
    sender.deliver_due()
    page = signed_in.get(f"{INDEX}{endpoint.public_id}/").content.decode()
    assert "Answered HTTP 500." in page and ">500<" in page and "Pending" in page
    only_delivered = signed_in.get(f"{INDEX}{endpoint.public_id}/?status=delivered").content.decode()
    assert "Answered HTTP 500." not in only_delivered


def test_send_again_queues_a_finished_delivery_once_more(signed_in, endpoint, webhook_receiver):
    events.emit(events.EMAIL_SENT, {})
    sender.deliver_due()
    delivery = HookDelivery.objects.get()
    response = signed_in.post(f"{INDEX}{endpoint.public_id}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (HookDelivery.PENDING, 0)
    sender.deliver_due()
    first, second = webhook_receiver.requests
    assert first.headers["Mmooc-Event-Id"] == second.headers["Mmooc-Event-Id"]
    assert AuditEntry.objects.filter(action="webhook.redelivered").count() == 1


def test_send_again_refuses_a_delivery_of_another_endpoint(signed_in, endpoint, webhook_receiver):
    other = Endpoint.objects.create(name="Other", url=webhook_receiver.url, events=["email.sent"])
    events.emit(events.EMAIL_SENT, {})
    theirs = HookDelivery.objects.get(endpoint=other)
    response = signed_in.post(f"{INDEX}{endpoint.public_id}/deliveries/{theirs.pk}/redeliver")
    assert response.status_code == 404


def test_switching_an_endpoint_back_on_clears_its_failure(signed_in, endpoint, webhook_receiver):
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason="Every attempt failed")
    response = signed_in.post(f"{INDEX}{endpoint.public_id}/edit",
                              form(url=webhook_receiver.url, events=["email.sent"]))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.disabled_reason == "" and endpoint.events == ["email.sent"]
    assert AuditEntry.objects.filter(action="webhook.changed").count() == 1


def test_a_refused_change_changes_nothing(signed_in, endpoint, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = signed_in.post(f"{INDEX}{endpoint.public_id}/edit", form(url="http://192.168.0.1/"))
    assert response.status_code == 400
    before = endpoint.url
    endpoint.refresh_from_db()
    assert endpoint.url == before and not AuditEntry.objects.exists()


def test_deleting_an_endpoint_forgets_it_and_its_log(signed_in, endpoint):
    events.emit(events.EMAIL_SENT, {})
    response = signed_in.post(f"{INDEX}{endpoint.public_id}/delete")
    assert response.status_code == 302
    assert not Endpoint.objects.exists() and not HookDelivery.objects.exists()
    assert AuditEntry.objects.filter(action="webhook.deleted").count() == 1
