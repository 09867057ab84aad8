"""The signup form on a cohort's landing page."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.learners.registration import form_started
from mmooc.learners.tests.helpers import deliveries, received_text
from mmooc.learners.tests.signup_cases import ADA, SignupDoorCases
from mmooc.mailer.models import Delivery
from mmooc.testing import make_learner

pytestmark = pytest.mark.django_db



def shown_a_minute_ago():
    """The signed time a form shown a minute ago carries (a person takes that long)."""
    return form_started(time.time() - 60)


def url(cohort):
    return reverse("learners:cohort", args=[cohort.course.slug, cohort.slug])


class TestSignupDoor(SignupDoorCases):
    def sign_up(self, client, cohort, **fields):
        data = {**ADA, "language": "en", "group": "group", "started": shown_a_minute_ago(), **fields}
        answers = data.pop("answers")
        return client.post(url(cohort), {**data, **{f"q_{key}": value for key, value in answers.items()}})


def post(client, cohort, **fields):
    data = {"email": "ada@example.org", "name": "Ada Lovelace", "timezone": "Europe/London",
            "language": "en", "group": "group", "q_level": "new", "started": shown_a_minute_ago()}
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


def test_it_says_politely_when_an_address_was_tried_too_often(client, cohort):
    for _ in range(5):
        post(client, cohort)
    response = post(client, cohort)
    assert response.status_code == 429 and int(response["Retry-After"]) > 3500
    assert "Please try again in 60 minutes" in response.content.decode()


@pytest.mark.cohort(state=Cohort.DRAFT)
def test_it_hides_a_draft_cohort(client, cohort):
    assert post(client, cohort, q_level=None).status_code == 404
    assert not Learner.objects.exists() and not Delivery.objects.exists()


def test_it_refuses_other_methods(client, cohort):
    assert client.put(url(cohort), "email=ada%40example.org&timezone=UTC").status_code == 405
    assert not Learner.objects.exists() and not Delivery.objects.exists()


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
