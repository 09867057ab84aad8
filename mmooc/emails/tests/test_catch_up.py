"""A late joiner asks on their page for the weeks they missed: one email, once."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import time_machine

from mmooc.emails import catchup, links, scheduling
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.learners.links import learner_page_url
from mmooc.learners.models import LearnerEvent
from mmooc.mailer.engine import drain
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.render import Prepared
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]
TEN_DAYS_IN = datetime(2027, 3, 18, 12, tzinfo=UTC)  # week 2 of a run that starts on 8 March


@pytest.fixture
def weeks(cohort, organizer):
    """Weeks 1 and 2's emails, sent to an early learner; the clock ten days into the run."""
    make_learner(cohort, "early@example.org")
    emails = []
    with time_machine.travel(datetime(2027, 3, 1, 12, tzinfo=UTC), tick=False):
        for position, day in ((1, 0), (2, 7)):
            email = CourseEmail.objects.create(
                cohort=cohort, subject=f"Week {position}: {{{{ module.title }}}}", body="Read it all.\n",
                module=cohort.course.modules.get(position=position), schedule=CourseEmail.LOCAL, day_offset=day,
                local_time=time(9))
            scheduling.schedule(email, organizer)
            emails.append(email)
    with time_machine.travel(TEN_DAYS_IN, tick=False):
        drain()
    with time_machine.travel(TEN_DAYS_IN, tick=False):
        yield emails


def _page(client, learner):
    return client.get(learner_page_url(learner))


def _ask(client, learner):
    url = learner_page_url(learner) + "/catch-up"
    return client.post(url, follow=True)


def test_a_late_joiner_asks_for_the_weeks_they_missed_and_gets_one_email_listing_them(client, cohort, weeks):
    late = make_learner(cohort, "late@example.org", name="Lena Late")
    page = _page(client, late).text
    assert "Send me the weeks I missed" in page and "Week 1" in page
    response = _ask(client, late)
    assert "on their way to late@example.org" in response.text
    copy = Delivery.objects.get(message__tag=catchup.TAG)
    assert copy.recipient == "late@example.org" and copy.status == Delivery.QUEUED
    body = copy.message.body
    for email in weeks:
        assert links.view_url(email) in body
        assert email.module.title in body
    for resource in weeks[0].module.resources.all():
        assert resource.url in body
    assert set(copy.context) == {"learner.first_name", "learner.page_url"}
    html = Prepared(copy.message).parts(copy.pk, copy.full_context(), "<x@example.org>").html
    assert "Lena" in html and f'href="{links.view_url(weeks[1])}"' in html
    event = LearnerEvent.objects.get(learner=late, kind=LearnerEvent.CATCH_UP)
    assert event.get_kind_display() == "Asked for the weeks they missed"


def test_a_second_request_says_when_it_was_sent_and_sends_nothing(client, cohort, weeks):
    late = make_learner(cohort, "late@example.org")
    _ask(client, late)
    copies = list(Delivery.objects.values_list("pk", "status"))
    events = LearnerEvent.objects.filter(learner=late).count()
    response = _ask(client, late)
    assert "We sent you the weeks you missed on Thursday 18 March 2027" in response.text
    assert list(Delivery.objects.values_list("pk", "status")) == copies
    assert LearnerEvent.objects.filter(learner=late).count() == events
    page = _page(client, late).text
    assert "Send me the weeks I missed" not in page and "on Thursday 18 March 2027" in page


def test_a_learner_who_got_every_week_sees_no_button_and_is_refused(client, cohort, weeks):
    early = cohort.learners.get(email="early@example.org")
    assert "Send me the weeks I missed" not in _page(client, early).text
    copies = Delivery.objects.count()
    response = _ask(client, early)
    assert "no earlier weeks" in response.text
    assert Delivery.objects.count() == copies and not Message.objects.filter(tag=catchup.TAG).exists()
    assert not LearnerEvent.objects.filter(learner=early, kind=LearnerEvent.CATCH_UP).exists()


def test_only_the_weeks_not_received_are_listed(cohort, weeks):
    late = make_learner(cohort, "late@example.org")
    # Week 2's copy reached them (they joined in time for it).
    Delivery.objects.filter(ref=str(cohort.learners.get(email="early@example.org").public_id),
                            message=weeks[1].message).update(ref=str(late.public_id))
    assert catchup.missed(late) == [weeks[0]]


def test_the_catch_up_is_in_the_learners_language_with_links_to_their_variant(client, cohort, weeks):
    CourseEmailVariant.objects.create(email=weeks[0], language="es", subject="Semana 1", body="Léelo.\n")
    ana = make_learner(cohort, "ana@example.org", name="Ana", language="es")
    _ask(client, ana)
    message = Message.objects.get(tag=catchup.TAG)
    assert message.subject.startswith("Las semanas de") and "Hola {{ learner.first_name }}" in message.body
    assert f"{links.view_url(weeks[0])}?lang=es" in message.body and "Semana 1" in message.body
    assert message.headers["Content-Language"] == "es"


def test_a_bad_link_changes_nothing(client, cohort, weeks):
    response = client.post("/me/not-a-token/catch-up")
    assert response.status_code == 404
    assert not Message.objects.filter(tag=catchup.TAG).exists()
