from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.http import Http404
from django.utils import timezone

from mmooc.learners import links

pytestmark = pytest.mark.django_db



def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def test_it_finds_the_learner_from_a_page_link(learner):
    assert links.learner_from_token(_token(links.learner_page_url(learner)), links.PAGE) == learner


def test_it_makes_absolute_urls_from_base_url(learner, settings):
    assert links.confirm_url(learner).startswith(settings.BASE_URL + "/c/")


def test_it_keeps_the_address_out_of_the_token(learner):
    token = _token(links.unsubscribe_url(learner))
    assert "ada@" not in token and "example" not in token
    assert learner.email not in links.read_token(token, links.UNSUBSCRIBE)


def test_it_uses_only_url_safe_characters(learner):
    for url in (links.confirm_url(learner), links.learner_page_url(learner), links.unsubscribe_url(learner)):
        assert all(ch.isalnum() or ch in "-_." for ch in _token(url))


def test_it_rejects_a_changed_character(learner):
    token = _token(links.learner_page_url(learner))
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(Http404):
        links.learner_from_token(tampered, links.PAGE)


def test_it_rejects_a_token_made_for_another_purpose(learner):
    with pytest.raises(Http404):
        links.learner_from_token(_token(links.learner_page_url(learner)), links.CONFIRM)


def test_it_rejects_an_expired_confirmation_link(learner):
    token = _token(links.confirm_url(learner))
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        with pytest.raises(Http404):
            links.learner_from_token(token, links.CONFIRM)


def test_it_accepts_a_confirmation_link_within_seven_days(learner):
    token = _token(links.confirm_url(learner))
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert links.learner_from_token(token, links.CONFIRM) == learner


def test_it_keeps_unsubscribe_links_working_for_years(learner):
    token = _token(links.unsubscribe_url(learner))
    with time_machine.travel(timezone.now() + timedelta(days=1000)):
        assert links.unsubscribe_target(token) == (learner, "cohort")


def test_it_carries_the_group_scope_in_the_unsubscribe_link(learner):
    assert links.unsubscribe_target(_token(links.unsubscribe_url(learner, "group"))) == (learner, "group")


def test_it_refuses_an_unknown_unsubscribe_scope(learner):
    with pytest.raises(ValueError):
        links.unsubscribe_url(learner, "everything")


def test_it_rejects_links_of_an_erased_learner(learner):
    token = _token(links.learner_page_url(learner))
    learner.state = learner.ERASED
    learner.save()
    with pytest.raises(Http404):
        links.learner_from_token(token, links.PAGE)


def test_it_gives_the_context_course_mail_needs(learner):
    ctx = links.learner_context(learner)
    assert set(ctx) == {"learner.first_name", "learner.name", "learner.page_url", "unsubscribe_url"}
    assert ctx["learner.first_name"] == "Ada"
    assert ctx["unsubscribe_url"] == links.unsubscribe_url(learner, "cohort")
    assert all(isinstance(v, str) for v in ctx.values())


def test_it_rejects_a_change_at_any_position(learner):
    token = _token(links.unsubscribe_url(learner))
    for i, ch in enumerate(token):
        other = "A" if ch != "A" else "B"
        with pytest.raises(Http404):
            links.unsubscribe_target(token[:i] + other + token[i + 1:])


@pytest.mark.parametrize("scope", ["cohort", "group"])
def test_it_finds_the_learner_from_an_unsubscribe_link_of_either_scope(learner, scope):
    token = _token(links.unsubscribe_url(learner, scope))
    assert links.learner_from_token(token, links.UNSUBSCRIBE) == learner


@pytest.mark.parametrize("purpose, value", [(links.PAGE, "not-an-id"), (links.UNSUBSCRIBE, "cnot-an-id")])
def test_a_signed_value_that_is_not_a_learner_id_is_an_invalid_link_not_an_error(purpose, value):
    with pytest.raises(links.InvalidLink):
        links.learner_from_token(links.make_token(value, purpose), purpose)
