"""GET/POST /u/<token>: one-click unsubscribe (RFC 8058) and the choices page."""

from __future__ import annotations

import pytest
from django.test import Client

from mmooc import testing
from mmooc.learners import links
from mmooc.learners.models import Learner, Unsubscribe
from mmooc.learners.signals import learner_left_group
from mmooc.learners.tests.helpers import path_of
from mmooc.mailer.models import Suppression

pytestmark = [pytest.mark.django_db, pytest.mark.learner(email="Ada@example.org")]
ONE_CLICK = {"List-Unsubscribe": "One-Click"}



@pytest.fixture
def bare():
    """No cookie, no session, CSRF enforced: what a mailbox provider's POST looks like."""
    return Client(enforce_csrf_checks=True)


def url(learner, scope="cohort"):
    return path_of(links.unsubscribe_url(learner, scope))


def grouped(learner):
    return testing.join(testing.make_group(learner.cohort, 3), learner)


def test_it_unsubscribes_at_once_on_a_one_click_post(bare, learner):
    response = bare.post(url(learner), ONE_CLICK)
    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.unsubscribed_at is not None


def test_it_accepts_a_multipart_one_click_post(bare, learner):
    from django.test.client import MULTIPART_CONTENT

    response = bare.post(url(learner), ONE_CLICK, content_type=MULTIPART_CONTENT)
    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.unsubscribed_at is not None


def test_it_never_redirects(bare, learner):
    response = bare.post(url(learner), ONE_CLICK)
    assert 200 <= response.status_code < 300 and "Location" not in response


def test_it_records_time_and_source(bare, learner):
    bare.post(url(learner), ONE_CLICK)
    record = Unsubscribe.objects.get()
    assert (record.learner, record.scope, record.source, record.email_key) == (
        learner, "cohort", "one-click", "ada@example.org")


def test_it_is_harmless_to_repeat(bare, learner):
    bare.post(url(learner), ONE_CLICK)
    learner.refresh_from_db()
    first = learner.unsubscribed_at
    response = bare.post(url(learner), ONE_CLICK)
    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.unsubscribed_at == first


def test_it_leaves_the_group_on_a_group_link(bare, learner):
    membership = grouped(learner)
    bare.post(url(learner, "group"), ONE_CLICK)
    membership.refresh_from_db()
    learner.refresh_from_db()
    assert membership.left_at is not None
    assert learner.unsubscribed_at is None and learner.state == Learner.CONFIRMED


def test_a_get_never_unsubscribes(client, learner):
    response = client.get(url(learner))
    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.unsubscribed_at is None and not Unsubscribe.objects.exists()


def test_a_get_offers_the_three_choices(client, learner):
    content = client.get(url(learner)).content.decode()
    for text in ("Leave my study group only", "Stop course emails for this cohort", "Stop all mail from this site"):
        assert text in content


def test_it_stops_course_emails_from_the_page(bare, learner):
    response = bare.post(url(learner), {"choice": "cohort"})
    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.unsubscribed_at is not None
    assert Unsubscribe.objects.get().source == "page"


def test_it_leaves_only_the_group_from_the_page(bare, learner):
    membership = grouped(learner)
    bare.post(url(learner), {"choice": "group"})
    membership.refresh_from_db()
    learner.refresh_from_db()
    assert membership.left_at is not None and learner.unsubscribed_at is None


def test_it_suppresses_the_address_for_all_mail(bare, learner):
    bare.post(url(learner), {"choice": "site"})
    suppression = Suppression.objects.get()
    assert (suppression.address, suppression.reason) == ("ada@example.org", Suppression.UNSUBSCRIBE)
    assert Unsubscribe.objects.filter(scope="site").count() == 1


def test_it_refuses_an_unknown_choice(bare, learner):
    response = bare.post(url(learner), {"choice": "everything"})
    assert response.status_code == 400
    assert not Unsubscribe.objects.exists()


def test_it_gives_404_for_a_changed_character_and_changes_nothing(bare, learner):
    path = url(learner)
    tampered = path[:-1] + ("a" if path[-1] != "a" else "b")
    response = bare.post(tampered, ONE_CLICK)
    assert response.status_code == 404
    assert "not valid or has expired" in response.content.decode()
    learner.refresh_from_db()
    assert learner.unsubscribed_at is None and not Unsubscribe.objects.exists()


def test_it_refuses_other_methods(client, learner):
    assert client.put(url(learner), "List-Unsubscribe=One-Click").status_code == 405
    learner.refresh_from_db()
    assert learner.unsubscribed_at is None and not Unsubscribe.objects.exists()


def test_it_takes_effect_before_the_next_audience_is_built(bare, learner):
    bare.post(url(learner), ONE_CLICK)
    assert not Learner.objects.confirmed().filter(unsubscribed_at__isnull=True).exists()


def test_leaving_the_group_is_told_to_the_apps_above(bare, learner):
    heard = []

    def receiver(sender, learner, **kwargs):
        heard.append(learner.pk)

    learner_left_group.connect(receiver, dispatch_uid="test.learner_left_group")
    try:
        bare.post(url(learner, "group"), ONE_CLICK)
    finally:
        learner_left_group.disconnect(dispatch_uid="test.learner_left_group")
    assert heard == [learner.pk]


def queued_course_email(learner):
    """A course email's copy queued for `learner` in its cohort, as scheduling leaves it."""
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Week 2", body="Read chapter 2",
                         scope=f"cohort:{learner.cohort_id}", tag="course-email",
                         list_id=f"c{learner.cohort_id}.announce.example.org")
    outbox.enqueue(msg, [outbox.Recipient(learner.email, {"unsubscribe_url": "https://x.example.org/u/1"},
                                          ref=str(learner.public_id))])
    return msg.deliveries.get()


def test_stop_all_mail_marks_the_person_in_every_cohort_and_withdraws_their_queued_copies(bare, learner):
    from mmooc.mailer.models import Delivery

    elsewhere = testing.make_learner(testing.make_cohort(), "ada@EXAMPLE.org")
    stranger = testing.make_learner(elsewhere.cohort, "grace@example.org")
    here, there, theirs = (queued_course_email(x) for x in (learner, elsewhere, stranger))
    assert bare.post(url(learner), {"choice": "site"}).status_code == 200
    for each in (learner, elsewhere):
        each.refresh_from_db()
        assert each.unsubscribed_at is not None
    for copy in (here, there):
        copy.refresh_from_db()
        assert copy.status == Delivery.CANCELLED
    stranger.refresh_from_db()
    theirs.refresh_from_db()
    assert stranger.unsubscribed_at is None and theirs.status == Delivery.QUEUED


def test_after_stop_all_mail_no_mail_of_any_kind_reaches_the_address(bare, learner, settings):
    from mmooc.lib.env import parse_email_url
    from mmooc.mailer import engine, outbox
    from mmooc.mailer.models import Delivery

    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    settings.MAIL_RATE_LIMIT = 0
    bare.post(url(learner), {"choice": "site"})
    later = testing.make_learner(testing.make_cohort(), "ADA@Example.org")
    link = outbox.send(to=later.email, subject="Your page", body="Here it is", ref=str(later.public_id))
    engine.drain()
    link.refresh_from_db()
    assert (link.status, link.stored) == (Delivery.SUPPRESSED, None)
