from __future__ import annotations

import pytest
from django.utils import timezone

from mmooc.emails.audience import AudienceError, audience_learners, parse_audience
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner
from mmooc.mailer.models import Suppression
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db
QUESTIONS = [{"id": "experience", "type": "single", "choices": ["Never", "A little"]},
             {"id": "reasons", "type": "multiple", "choices": ["For my job", "Just for fun"]}]


@pytest.fixture(autouse=True)
def learners(cohort):
    """Two groups of 3 and 2, two solo learners, and learners no audience ever includes."""
    groups = [StudyGroup.objects.create(cohort=cohort, number=n, name=f"Group {n}",
                                        address=f"{cohort.slug}-{n}@lists.example.org") for n in (1, 2)]
    for _ in range(3):
        Membership.objects.create(group=groups[0], learner=make_learner(cohort, answers={"experience": "Never"}))
    for _ in range(2):
        Membership.objects.create(group=groups[1], learner=make_learner(
            cohort, answers={"experience": "A little", "reasons": ["Just for fun", "For my job"]}))
    make_learner(cohort, wants_group=False, answers={"reasons": ["Just for fun"], "own_computer": True})
    make_learner(cohort, wants_group=True, answers={"own_computer": False})
    # Never included, whatever the audience:
    make_learner(cohort, state=Learner.PENDING)
    make_learner(cohort, unsubscribed_at=timezone.now())
    suppressed = make_learner(cohort, "Bounced@Example.org")
    Suppression.objects.create(address="bounced@example.org", reason=Suppression.HARD_BOUNCE)
    Membership.objects.create(group=groups[0], learner=suppressed)
    make_learner(make_cohort(), "other-cohort@example.org")


@pytest.mark.parametrize("audience, count", [
    ({"kind": "all"}, 7),
    ({"kind": "grouped"}, 5),
    ({"kind": "solo"}, 2),
    ({"kind": "wanting-group"}, 6),
    ({"kind": "groups", "groups": [2]}, 2),
    ({"kind": "answer", "question": "experience", "answer": "never"}, 3),
    ({"kind": "answer", "question": "reasons", "answer": "Just for fun"}, 3),
    ({"kind": "answer", "question": "reasons", "answer": "For my job"}, 2),
    ({"kind": "answer", "question": "own_computer", "answer": "yes"}, 1),
    ({"kind": "answer", "question": "own_computer", "answer": "no"}, 1),
    ({"kind": "test", "addresses": ["bounced@example.org", "other-cohort@example.org"]}, 0),
])
def test_it_counts_each_audience(cohort, audience, count):
    assert audience_learners(cohort, audience).count() == count


def test_it_reads_the_folder_forms():
    assert parse_audience("grouped") == {"kind": "grouped"}
    assert parse_audience({"groups": [4, 1]}) == {"kind": "groups", "groups": [1, 4]}
    assert parse_audience({"question": "experience", "answer": "never"}, QUESTIONS) == {
        "kind": "answer", "question": "experience", "answer": "Never"}
    assert parse_audience({"test": ["Me@Example.org"]}) == {"kind": "test", "addresses": ["me@example.org"]}


@pytest.mark.parametrize("value, message", [
    ("everybody", "unknown audience"),
    ({"groups": "one"}, "list of group numbers"),
    ({"question": "colour", "answer": "red"}, "no signup question"),
    ({"question": "experience", "answer": "Lots"}, "not one of the choices"),
    ({"question": "a__b", "answer": "x"}, "not a question id"),
    ({"test": ["not an address"]}, "not a valid address"),
])
def test_it_rejects_bad_audiences(value, message):
    with pytest.raises(AudienceError, match=message):
        parse_audience(value, QUESTIONS)
