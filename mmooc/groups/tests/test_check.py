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


def _many(cohort, n=check.THRESHOLD + 1):
    return [make_learner(cohort) for _ in range(n)]


def test_more_than_a_handful_asks_send_n_copies_now_and_sends_nothing_yet(client, organizer, cohort):
    _many(cohort)
    client.force_login(organizer)
    response = client.post(f"/dashboard/cohorts/{cohort.slug}/grouping/check/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Send {check.THRESHOLD + 1} copies now?" in page and 'name="confirm"' in page
    assert not GroupCheck.objects.exists() and not Message.objects.exists() and not AuditEntry.objects.exists()


def test_the_confirmed_copies_are_held_for_the_undo_window(client, organizer, cohort, settings):
    settings.SEND_UNDO_SECONDS = 120
    _many(cohort)
    client.force_login(organizer)
    url = f"/dashboard/cohorts/{cohort.slug}/grouping/check/"
    token = client.post(url).context["token"]
    before = timezone.now()
    assert client.post(url, {"confirm": token}).status_code == 302
    sent = GroupCheck.objects.get()
    assert sent.learner_count == check.THRESHOLD + 1 and sent.held_until >= before + timedelta(seconds=120)
    assert set(Delivery.objects.values_list("not_before", flat=True)) == {sent.held_until}
    page = client.get(f"/dashboard/cohorts/{cohort.slug}/grouping/").content.decode()
    assert f"grouping/check/{sent.pk}/cancel" in page


def test_a_confirmation_for_another_number_asks_again_and_sends_nothing(client, organizer, cohort):
    _many(cohort)
    client.force_login(organizer)
    url = f"/dashboard/cohorts/{cohort.slug}/grouping/check/"
    token = client.post(url).context["token"]
    make_learner(cohort)  # one more learner to ask since the question
    response = client.post(url, {"confirm": token})
    assert response.status_code == 400 and "changed since you confirmed" in response.content.decode()
    assert f"Send {check.THRESHOLD + 2} copies now?" in response.content.decode()
    response = client.post(url, {"confirm": token + "x"})
    assert response.status_code == 400 and not GroupCheck.objects.exists() and not Delivery.objects.exists()


def test_cancelling_in_the_undo_window_stops_every_copy_and_is_audited(client, organizer, cohort):
    _many(cohort, 3)
    client.force_login(organizer)
    client.post(f"/dashboard/cohorts/{cohort.slug}/grouping/check/")
    sent = GroupCheck.objects.get()
    cancel = f"/dashboard/cohorts/{cohort.slug}/grouping/check/{sent.pk}/cancel"
    assert client.post(cancel).status_code == 302
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.CANCELLED}
    assert AuditEntry.objects.get(action="groups.check_cancelled").details["stopped"] == 3
    # A second cancel has nothing left to stop: refused, nothing changes.
    assert client.post(cancel).status_code == 400
    assert AuditEntry.objects.filter(action="groups.check_cancelled").count() == 1


def test_cancel_is_for_organizers_of_the_cohort(client, facilitator, organizer, cohort):
    from mmooc.testing import facilitating

    _many(cohort, 3)
    sent = check.send_group_check(cohort, actor=organizer, hold=timedelta(minutes=2))
    client.force_login(facilitating(facilitator, cohort))
    assert client.post(f"/dashboard/cohorts/{cohort.slug}/grouping/check/{sent.pk}/cancel").status_code == 403
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.QUEUED}


def test_once_the_cohort_has_started_the_check_is_not_sent(client, organizer, cohort):
    _many(cohort, 3)
    with time_machine.travel(cohort.start_at() + timedelta(hours=1), tick=False):
        client.force_login(organizer)
        response = client.post(f"/dashboard/cohorts/{cohort.slug}/grouping/check/")
        assert response.status_code == 400 and "has started" in response.content.decode()
        with pytest.raises(check.CheckRefused):
            check.send_group_check(cohort, actor=organizer)
    assert not GroupCheck.objects.exists() and not Delivery.objects.exists()
