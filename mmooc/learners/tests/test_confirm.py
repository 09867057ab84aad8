"""/c/<token>: double opt-in confirmation (GET shows one button, its POST confirms)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.learners import lifecycle, links, registration
from mmooc.learners.models import Learner
from mmooc.learners.registration import Signup
from mmooc.learners.signals import learner_confirmed
from mmooc.learners.tests.helpers import link_in, path_of, received_text
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending():
    return make_learner(make_cohort(), "ada@example.org", state=Learner.PENDING, name="Ada")


@pytest.fixture
def confirmations():
    seen = []

    def receiver(sender, learner, **kw):
        seen.append(learner.pk)

    learner_confirmed.connect(receiver)
    yield seen
    learner_confirmed.disconnect(receiver)


def confirm_path(learner):
    return path_of(links.confirm_url(learner))


def press(client, path, action="confirm"):
    """What the page's one button sends."""
    return client.post(path, {"action": action})


def test_it_confirms_the_learner_on_the_buttons_post(client, pending):
    response = press(client, confirm_path(pending))
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.state == Learner.CONFIRMED and pending.confirmed_at is not None


def test_opening_the_link_shows_one_button_and_changes_nothing(client, pending, confirmations,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(confirm_path(pending))
        client.head(confirm_path(pending))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("<button") == 1 and "Confirm my place" in content and 'method="post"' in content
    pending.refresh_from_db()
    assert (pending.state, pending.confirmed_at) == (Learner.PENDING, None)
    assert confirmations == []


def test_it_shows_next_steps_and_the_personal_link(client, pending):
    content = press(client, confirm_path(pending)).content.decode()
    assert "What happens next" in content
    assert "/me/" in content


def test_an_old_link_opened_after_leaving_asks_before_joining_again(client, confirmations,
                                                                     django_capture_on_commit_callbacks):
    learner = make_learner(make_cohort(), "ada@example.org", state=Learner.PENDING)
    path = confirm_path(learner)
    press(client, path)
    lifecycle.leave(learner, now=timezone.now().replace(year=2026, month=12, day=3))
    with django_capture_on_commit_callbacks(execute=True):
        shown = client.get(path)
        pressed_again = press(client, path)  # the confirm button of a page opened before leaving
    for response in (shown, pressed_again):
        content = response.content.decode()
        assert "You left this cohort on 3 December 2026." in content and "Join again" in content
        assert "You are in" not in content
    assert pressed_again.status_code == 409
    learner.refresh_from_db()
    assert learner.state == Learner.LEFT and learner.left_at is not None
    assert confirmations == []


def test_joining_again_takes_the_button(client, confirmations, django_capture_on_commit_callbacks):
    learner = make_learner(make_cohort(), "ada@example.org", state=Learner.LEFT, left_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        response = press(client, confirm_path(learner), "rejoin")
    assert "You are in" in response.content.decode()
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED and learner.left_at is None
    assert confirmations == [learner.pk]


def test_it_sends_learner_confirmed_once_after_commit(client, pending, confirmations,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        press(client, confirm_path(pending))
        press(client, confirm_path(pending))
    assert confirmations == [pending.pk]


def test_it_works_from_the_emailed_link(client):
    cohort = make_cohort()
    client.post(f"/{cohort.course.slug}/{cohort.slug}/", {"email": "bo@example.org", "timezone": "UTC",
                                                            "started": registration.form_started(time.time() - 60)})
    link = link_in(received_text("bo@example.org", "confirmation"), "c")
    assert client.get(path_of(link)).status_code == 200
    assert Learner.objects.get().state == Learner.PENDING
    assert press(client, path_of(link)).status_code == 200
    assert Learner.objects.get().state == Learner.CONFIRMED


def test_it_shows_a_clear_page_for_a_tampered_link_and_changes_nothing(client, pending):
    path = confirm_path(pending)
    response = client.get(path[:-2] + ("xx" if not path.endswith("xx") else "yy"))
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == Learner.PENDING


def test_it_refuses_an_expired_link_and_changes_nothing(client, pending):
    path = confirm_path(pending)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.get(path)
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == Learner.PENDING


def test_it_refuses_other_methods(client, pending):
    assert client.put(confirm_path(pending)).status_code == 405
    pending.refresh_from_db()
    assert (pending.state, pending.confirmed_at) == (Learner.PENDING, None)


def test_a_tampered_link_changes_nothing_on_post_either(client, pending):
    path = confirm_path(pending)
    response = press(client, path[:-2] + ("xx" if not path.endswith("xx") else "yy"))
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.state == Learner.PENDING


def test_a_resignup_clears_an_unsubscribe_only_after_confirmation(client):
    learner = make_learner(make_cohort(), "ada@example.org", unsubscribed_at=timezone.now())
    registration.register(learner.cohort, Signup(email="ada@example.org", timezone="UTC"))
    learner.refresh_from_db()
    assert learner.unsubscribed_at is not None
    link = link_in(received_text("ada@example.org", "confirmation"), "c")
    assert "You stopped the course emails" in client.get(path_of(link)).content.decode()
    learner.refresh_from_db()
    assert learner.unsubscribed_at is not None
    press(client, path_of(link), "rejoin")
    learner.refresh_from_db()
    assert learner.unsubscribed_at is None and learner.state == Learner.CONFIRMED


def test_a_learner_who_left_comes_back_after_confirmation(client, confirmations,
                                                        django_capture_on_commit_callbacks):
    learner = make_learner(make_cohort(), "ada@example.org", state=Learner.LEFT, left_at=timezone.now())
    registration.register(learner.cohort, Signup(email="ada@example.org", timezone="UTC"))
    assert Learner.objects.get().state == Learner.LEFT
    with django_capture_on_commit_callbacks(execute=True):
        press(client, confirm_path(learner), "rejoin")
    learner.refresh_from_db()
    assert learner.state == Learner.CONFIRMED and learner.left_at is None
    assert confirmations == [learner.pk]


def test_a_confirmation_is_counted_once_for_the_metrics(client, pending):
    from mmooc.operations import counters

    press(client, confirm_path(pending))
    press(client, confirm_path(pending))
    assert counters.totals() == {("confirmations", ""): 1}


@pytest.mark.parametrize(("now", "says", "not_said"), [
    ("2030-03-01 12:00Z", "The course starts on Monday 4 March 2030", "we are in week"),
    ("2030-03-14 12:00Z", "we are in week 2", "Before the start we put you"),
    ("2030-05-01 12:00Z", "ended on Sunday 21 April 2030", "Before the start we put you"),
])
def test_the_confirmation_page_speaks_of_where_the_run_stands(now, says, not_said):
    from datetime import date

    from django.template.loader import render_to_string

    cohort = make_cohort(start=date(2030, 3, 4))
    learner = make_learner(cohort, timezone="America/Los_Angeles", wants_group=True)
    with time_machine.travel(now, tick=False):
        html = render_to_string("learners/confirm.html", {"learner": learner, "cohort": cohort,
                                                          "course": cohort.course, "page_url": "/me/x"})
    assert says in html and not_said not in html
