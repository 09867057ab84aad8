"""The signup form on a cohort's landing page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import deliveries, received_text
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_course, make_learner

pytestmark = pytest.mark.django_db
QUESTIONS = [{"id": "level", "label": "Your level", "type": "single", "choices": ["new", "some"]},
             {"id": "why", "label": "Why?", "type": "text"}]


@pytest.fixture
def cohort():
    return make_cohort(make_course(questions=QUESTIONS))


def url(cohort):
    return reverse("learners:cohort", args=[cohort.course.slug, cohort.slug])


def post(client, cohort, **fields):
    data = {"email": "ada@example.org", "name": "Ada Lovelace", "timezone": "Europe/London",
            "language": "en", "group": "group", "q_level": "new"}
    data.update(fields)
    return client.post(url(cohort), {k: v for k, v in data.items() if v is not None})


def test_it_stores_a_pending_learner(client, cohort):
    response = post(client, cohort)
    assert response.status_code == 200
    learner = Learner.objects.get()
    assert (learner.state, learner.email, learner.timezone, learner.country) == (
        "pending", "ada@example.org", "Europe/London", "GB")
    assert learner.answers == {"level": "new"}


def test_it_says_to_check_the_inbox(client, cohort):
    assert "open the link in it to confirm" in post(client, cohort).content.decode()


def test_it_queues_one_confirmation_email(client, cohort):
    post(client, cohort)
    learner = Learner.objects.get()
    delivery = Delivery.objects.get()
    assert (delivery.message.tag, delivery.message.kind, delivery.ref) == (
        "confirmation", "transactional", str(learner.public_id))
    assert delivery.message.scope == f"cohort:{cohort.id}"


def test_it_puts_a_confirmation_link_in_the_email(client, cohort):
    post(client, cohort)
    text = received_text("ada@example.org", "confirmation")
    assert "/c/" in text and "Ada" in text and cohort.course.title in text


def test_it_updates_answers_on_a_second_signup_with_another_case(client, cohort):
    post(client, cohort)
    post(client, cohort, email="ADA@Example.org", q_level="some")
    learner = Learner.objects.get()
    assert learner.answers == {"level": "some"}


def test_it_gives_the_same_answer_to_a_second_signup(client, cohort):
    first = post(client, cohort)
    second = post(client, cohort, email="ADA@example.org")
    assert first.status_code == second.status_code
    assert first.content.replace(b"ADA@", b"ada@") == second.content.replace(b"ADA@", b"ada@")


def test_it_gives_a_confirmed_learner_the_same_answer(client, cohort):
    make_learner(cohort, "ada@example.org")
    response = post(client, cohort)
    assert response.status_code == 200
    assert "open the link in it to confirm" in response.content.decode()
    assert Learner.objects.count() == 1


def test_it_sends_a_confirmed_learner_their_page_link_not_a_confirmation(client, cohort):
    make_learner(cohort, "ada@example.org")
    post(client, cohort)
    assert [d.message.tag for d in deliveries("ada@example.org")] == ["magic-link"]


def test_it_stores_nothing_when_the_honeypot_is_filled(client, cohort):
    response = post(client, cohort, website="http://spam.example")
    assert response.status_code == 200
    assert "open the link in it to confirm" in response.content.decode()
    assert not Learner.objects.exists() and not Delivery.objects.exists()


def test_it_limits_signups_per_address_politely(client, cohort):
    for _ in range(5):
        post(client, cohort)
    response = post(client, cohort)
    assert response.status_code == 429
    assert "try again in an hour" in response.content.decode()
    assert Delivery.objects.count() == 5


@pytest.mark.parametrize("field,value,message", [
    ("email", "not-an-address", "does not look like an email address"),
    ("email", "a" * 300 + "@example.org", "too long"),
    ("name", "Ada\r\nBcc: victim@example.org", "one line"),
    ("timezone", "Mars/Olympus", "not a known time zone"),
    ("q_level", "expert", "not one of the"),
    ("q_salary", "lots", "no question salary"),
])
def test_it_refuses_bad_input_and_stores_nothing(client, cohort, field, value, message):
    response = post(client, cohort, **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Learner.objects.exists() and not Delivery.objects.exists()


def test_it_refuses_a_signup_when_signup_is_closed(client):
    cohort = make_cohort(open_signup=False)
    response = post(client, cohort, q_level=None)
    assert response.status_code == 400
    assert not Learner.objects.exists()


def test_it_hides_a_draft_cohort(client):
    cohort = make_cohort(state=Cohort.DRAFT)
    assert post(client, cohort, q_level=None).status_code == 404


def test_it_refuses_other_methods(client, cohort):
    assert client.put(url(cohort)).status_code == 405


def test_it_requires_the_csrf_token_on_the_landing_page(cohort):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(url(cohort), {"email": "ada@example.org",
                                                                   "timezone": "UTC"})
    assert response.status_code == 403
    assert not Learner.objects.exists()


def test_it_shares_one_confirmation_message_among_a_cohorts_signups(client, cohort):
    post(client, cohort)
    post(client, cohort, email="bo@example.org")
    assert Delivery.objects.values("message").distinct().count() == 1
    assert Delivery.objects.count() == 2


def test_it_sends_a_second_confirmation_to_a_pending_address(client, cohort):
    post(client, cohort)
    post(client, cohort)
    assert [d.message.tag for d in deliveries("ada@example.org")] == ["confirmation", "confirmation"]
