"""GET /dashboard/cohorts/<cohort>/learners/<public_id>."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery
from mmooc.testing import facilitate, join, make_cohort, make_group

pytestmark = pytest.mark.django_db



def url(learner):
    return f"/dashboard/cohorts/{learner.cohort.slug}/learners/{learner.public_id}"


def test_it_shows_every_email_sent_and_its_status(client, facilitator, learner):
    outbox.send(to=learner.email, subject="Please confirm", body="x", ref=str(learner.public_id), tag="confirmation")
    delivery = outbox.send(to=learner.email, subject="Week 1 is here", body="x", ref=str(learner.public_id))
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.FAILED, last_error="550 no such user")
    client.force_login(facilitate(facilitator, join(make_group(learner.cohort), learner).group))
    content = client.get(url(learner)).content.decode()
    assert "Please confirm" in content and "Week 1 is here" in content
    assert "Failed" in content and "550 no such user" in content and "curious" in content


def test_a_facilitator_finds_no_learner_outside_their_groups(client, facilitator, learner):
    facilitate(facilitator, make_group(learner.cohort, 1))
    join(make_group(learner.cohort, 2), learner)
    client.force_login(facilitator)
    response = client.get(url(learner))
    assert response.status_code == 404 and learner.email not in response.content.decode()


def test_it_names_the_learners_group_and_when_they_left_it(client, organizer, learner):
    client.force_login(organizer)
    assert "<th>Group</th><td>—</td>" in client.get(url(learner)).content.decode()
    membership = join(make_group(learner.cohort, 3, name="The Owls"), learner)
    assert "<th>Group</th><td>The Owls</td>" in client.get(url(learner)).content.decode()
    membership.left_at = datetime(2027, 3, 9, 12, tzinfo=UTC)
    membership.save(update_fields=["left_at"])
    assert "The Owls (left 2027-03-09)" in client.get(url(learner)).content.decode()


def test_it_refuses_outsiders(client, outsider, learner):
    client.force_login(outsider)
    assert client.get(url(learner)).status_code == 403


def test_it_gives_404_for_a_learner_of_another_cohort(client, organizer, learner):
    other = make_cohort()
    client.force_login(organizer)
    assert client.get(f"/dashboard/cohorts/{other.slug}/learners/{learner.public_id}").status_code == 404
    assert client.get(f"/dashboard/cohorts/{other.slug}/learners/{uuid.uuid4()}").status_code == 404


def test_it_refuses_post(client, organizer, learner):
    client.force_login(organizer)
    assert client.post(url(learner)).status_code == 405
