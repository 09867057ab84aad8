"""A group's welcome is written in the group's language, its footer too; a late joiner's in their own."""

from __future__ import annotations

import pytest

from mmooc.groups import welcome
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.render import prepare
from mmooc.testing import join, make_cohort, make_group, make_learner

pytestmark = pytest.mark.django_db


def _welcome(group):
    people = welcome.members_of([group])[group.pk]
    return welcome._welcome_message(group.cohort.course, group, people)


def test_a_portuguese_group_is_welcomed_in_portuguese_with_its_footer():
    group = make_group(make_cohort(), 1, language="pt")
    join(group, make_learner(group.cohort, "ana@example.org", name="Ana Souza", language="pt"))
    fields = _welcome(group)
    assert fields["subject"].startswith("Boas-vindas ao")
    assert "Quem está no grupo" in fields["body"] and "- Ana (" in fields["body"]
    assert fields["headers"] == {"Content-Language": "pt-br"}
    rendered = prepare(Message(**fields, from_email="course@example.org")).rendered
    assert "Para não receber mais estes e-mails, cancele a inscrição" in "".join(rendered.text.parts)
    assert 'lang="pt-br"' in "".join(rendered.html.parts)


def test_a_pooled_group_reads_its_members_most_common_language():
    group = make_group(make_cohort(), 1, pooled=True, language="")
    for i, language in enumerate(["es", "es", "en"]):
        join(group, make_learner(group.cohort, f"m{i}@example.org", language=language))
    assert "Quién está en el grupo" in _welcome(group)["body"]


def test_an_english_group_says_nothing_of_its_language():
    group = make_group(make_cohort(), 1, language="en")
    join(group, make_learner(group.cohort, "bob@example.org", language="en"))
    fields = _welcome(group)
    assert fields["subject"] == welcome.WELCOME_SUBJECT.format(group=group.name, course=group.cohort.course.title)
    assert fields["headers"] == {}


def test_a_late_joiner_is_told_of_their_group_in_their_own_language():
    group = make_group(make_cohort(), 1, language="en")
    learner = make_learner(group.cohort, "lucia@example.org", name="Lucía", language="es")
    welcome.send_joined(learner, group, 5)
    message = Delivery.objects.get(recipient="lucia@example.org").message
    assert message.subject.startswith("Ya formas parte de")
    assert message.headers == {"Content-Language": "es"}


def test_welcomes_are_prepared_with_cycle_collection_paused_and_resumed_after(monkeypatch):
    import gc

    group = make_group(make_cohort(), 1, language="en")
    join(group, make_learner(group.cohort, "ana@example.org", name="Ana Souza"))
    seen, real = [], welcome._prepare
    monkeypatch.setattr(welcome, "_prepare", lambda *args: seen.append(gc.isenabled()) or real(*args))
    assert gc.isenabled()
    assert welcome.send_welcomes(group.cohort, [group]) == 1
    assert seen == [False] and gc.isenabled()
