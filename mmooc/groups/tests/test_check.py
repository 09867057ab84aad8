""""Do you still want a group?": the email and the one-click yes/no pages."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone

from mmooc.audit.models import AuditEntry
from mmooc.groups import check
from mmooc.groups.apply import apply_grouping, eligible_learners
from mmooc.groups.models import GroupCheck, Membership
from mmooc.learners.models import Learner
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db,
              pytest.mark.cohort(confirm_group_wish=True, course={"title": "Gentle Python"})]


def path_of(url):
    return urlsplit(url).path


def test_it_emails_each_learner_wanting_a_group_a_yes_and_a_no_link(cohort, organizer):
    ada = make_learner(cohort)
    make_learner(cohort, wants_group=False)
    make_learner(cohort, state=Learner.PENDING)
    sent = check.send_group_check(cohort, actor=organizer)
    assert sent.learner_count == 1
    message = Message.objects.get(tag="group-check")
    assert "{{ group_check.yes_url }}" in message.body and "{{ group_check.no_url }}" in message.body
    delivery = Delivery.objects.get(message=message)
    assert delivery.recipient == ada.email
    assert "/group-check/" in delivery.context["group_check.yes_url"]
    assert delivery.context["group_check.yes_url"].endswith("/yes/")
    assert delivery.context["group_check.no_url"].endswith("/no/")
    assert AuditEntry.objects.get(action="groups.check_sent").actor == organizer


def test_it_shows_a_button_and_changes_nothing_on_get(client, cohort):
    ada = make_learner(cohort)
    response = client.get(path_of(check.answer_url(ada, "yes")))
    assert response.status_code == 200
    assert "Yes, put me in a group" in response.content.decode()
    ada.refresh_from_db()
    assert ada.group_confirmed is None


def test_it_records_yes_on_post(client, cohort):
    ada = make_learner(cohort)
    response = client.post(path_of(check.answer_url(ada, "yes")))
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.group_confirmed is True
    assert list(eligible_learners(cohort)) == [ada]


def test_it_records_no_on_post_and_takes_the_learner_out_of_grouping(client, cohort):
    ada = make_learner(cohort, group_confirmed=True)
    client.post(path_of(check.answer_url(ada, "no")))
    ada.refresh_from_db()
    assert ada.group_confirmed is False
    assert not eligible_learners(cohort).exists()


def test_a_no_is_the_learners_choice_of_studying_on_their_own_as_their_page_shows_it(client, cohort):
    from mmooc.learners.models import LearnerEvent

    ada = make_learner(cohort, group_confirmed=True)
    client.post(path_of(check.answer_url(ada, "no")))
    ada.refresh_from_db()
    assert ada.wants_group is False
    event = LearnerEvent.objects.get(learner=ada)
    assert (event.kind, event.via) == (LearnerEvent.SOLO, "group check")


def test_it_takes_a_grouped_learner_who_says_no_out_of_their_group(client, cohort):
    ada = make_learner(cohort, group_confirmed=True)
    apply_grouping(cohort)
    client.post(path_of(check.answer_url(ada, "no")))
    assert not Membership.objects.active().filter(learner=ada).exists()


def test_it_answers_harmlessly_to_a_repeated_post(client, cohort):
    ada = make_learner(cohort)
    link = path_of(check.answer_url(ada, "yes"))
    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 200
    ada.refresh_from_db()
    assert ada.group_confirmed is True


def test_it_answers_404_to_a_tampered_token_and_changes_nothing(client, cohort):
    ada = make_learner(cohort)
    link = path_of(check.answer_url(ada, "yes"))
    token = link.split("/")[2]
    tampered = link.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert client.post(tampered).status_code == 404
    assert client.get(tampered).status_code == 404
    ada.refresh_from_db()
    assert ada.group_confirmed is None


def test_it_answers_404_to_an_unknown_answer(client, cohort):
    ada = make_learner(cohort)
    link = path_of(check.answer_url(ada, "yes")).replace("/yes/", "/maybe/")
    assert client.post(link).status_code == 404
    ada.refresh_from_db()
    assert ada.group_confirmed is None


def test_it_answers_404_to_an_expired_link(client, cohort):
    ada = make_learner(cohort)
    link = path_of(check.answer_url(ada, "yes"))
    with time_machine.travel(timezone.now() + check.MAX_AGE + timedelta(days=1)):
        assert client.post(link).status_code == 404
    ada.refresh_from_db()
    assert ada.group_confirmed is None


def test_it_answers_404_for_a_learner_who_left(client, cohort):
    ada = make_learner(cohort)
    link = path_of(check.answer_url(ada, "yes"))
    Learner.objects.filter(pk=ada.pk).update(state=Learner.LEFT)
    assert client.post(link).status_code == 404


def test_it_answers_405_to_other_methods(client, cohort):
    ada = make_learner(cohort)
    assert client.put(path_of(check.answer_url(ada, "yes"))).status_code == 405
    ada.refresh_from_db()
    assert ada.group_confirmed is None


def test_it_lets_organizers_send_the_check_from_the_grouping_page(client, organizer, cohort):
    make_learner(cohort)
    client.force_login(organizer)
    response = client.post(f"/dashboard/cohorts/{cohort.slug}/grouping/check/")
    assert response.status_code == 302
    assert GroupCheck.objects.get(cohort=cohort).learner_count == 1


def test_it_forbids_facilitators_to_send_the_check(client, facilitator, cohort):
    make_learner(cohort)
    client.force_login(facilitator)
    assert client.post(f"/dashboard/cohorts/{cohort.slug}/grouping/check/").status_code == 403
    assert not GroupCheck.objects.exists() and not Message.objects.exists()
