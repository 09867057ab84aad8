"""The cases every signup door passes (the landing page's form, the JSON API), written once.

A door's tests subclass `SignupDoorCases` in a class named `Test…` and fill in `sign_up`:
one signup through that door, from Ada unless told otherwise. Each refusal checks that the
learners and the outbox are as they were.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.mailer.models import Delivery
from mmooc.testing import make_learner

ADA = {"email": "ada@example.org", "name": "Ada Lovelace", "timezone": "Europe/London",
       "answers": {"level": "new"}}


def state() -> tuple[Any, ...]:
    """Every learner as stored, and every copy in the outbox."""
    return (list(Learner.objects.order_by("pk").values_list("email_key", "state", "name", "timezone", "answers")),
            list(Delivery.objects.order_by("pk").values_list("recipient", "status")))


@pytest.mark.django_db
class SignupDoorCases:
    accepted = 200  # the status of a signup taken (or a bot pretended to be thanked)

    def sign_up(self, client: Client, cohort: Cohort, **fields: Any) -> HttpResponse:
        """A signup of ADA's fields, `fields` replacing them (`website` fills the honeypot)."""
        raise NotImplementedError

    def test_it_stores_a_pending_learner_and_queues_one_confirmation(self, client: Client, cohort: Cohort) -> None:
        assert self.sign_up(client, cohort).status_code == self.accepted
        learner = Learner.objects.get()
        assert (learner.state, learner.email, learner.answers) == (Learner.PENDING, "ada@example.org", {"level": "new"})
        delivery = Delivery.objects.get()
        assert (delivery.message.tag, delivery.ref) == ("confirmation", str(learner.public_id))

    def test_a_second_signup_in_another_case_is_the_same_learner(self, client: Client, cohort: Cohort) -> None:
        first = self.sign_up(client, cohort)
        second = self.sign_up(client, cohort, email="ADA@Example.org")
        assert first.status_code == second.status_code == self.accepted
        assert Learner.objects.count() == 1

    @pytest.mark.parametrize("field, value, message", [
        ("email", "not-an-address", "does not look like an email address"),
        ("email", "a" * 300 + "@example.org", "too long"),
        ("name", "Ada\r\nBcc: victim@example.org", "one line"),
        ("timezone", "Mars/Olympus", "not a known time zone"),
        ("answers", {"level": "expert"}, "not one of the"),
        ("answers", {"salary": "lots"}, "no question salary"),
    ])
    def test_it_refuses_bad_input_and_changes_nothing(self, client: Client, cohort: Cohort, field: str,
                                                      value: Any, message: str) -> None:
        make_learner(cohort, "bo@example.org")
        before = state()
        response = self.sign_up(client, cohort, **{field: value})
        assert response.status_code == 400
        assert message in response.content.decode()
        assert state() == before

    def test_a_filled_honeypot_is_thanked_and_changes_nothing(self, client: Client, cohort: Cohort) -> None:
        make_learner(cohort, "bo@example.org")
        before = state()
        assert self.sign_up(client, cohort, website="http://spam.example").status_code == self.accepted
        assert state() == before

    @pytest.mark.cohort(open_signup=False)
    def test_a_closed_cohort_refuses_and_changes_nothing(self, client: Client, cohort: Cohort) -> None:
        make_learner(cohort, "bo@example.org")
        before = state()
        response = self.sign_up(client, cohort, answers={})
        assert response.status_code == 400 and "closed" in response.content.decode()
        assert state() == before

    def test_an_address_tried_too_often_is_refused_and_changes_nothing(self, client: Client, cohort: Cohort) -> None:
        for _ in range(5):
            assert self.sign_up(client, cohort).status_code == self.accepted
        before = state()
        assert self.sign_up(client, cohort).status_code == 429
        assert state() == before
