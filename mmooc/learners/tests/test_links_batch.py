"""BatchSigner and context_maker: the same tokens as Django's TimestampSigner, made faster."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from mmooc.learners import links
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db
PURPOSES = (links.CONFIRM, links.PAGE, links.UNSUBSCRIBE, links.WAITLIST)


def django_signer(purpose: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"mmooc.learners.{purpose}", sep=".")


@pytest.mark.parametrize("purpose", PURPOSES)
def test_it_makes_the_tokens_djangos_timestamp_signer_makes(purpose):
    value = uuid.uuid4().hex
    with time_machine.travel(timezone.now(), tick=False):
        assert links.BatchSigner(purpose).sign(value) == django_signer(purpose).sign(value)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_it_makes_tokens_django_and_read_token_accept(purpose):
    value = "g" + uuid.uuid4().hex
    token = links.BatchSigner(purpose).sign(value)
    assert django_signer(purpose).unsign(token, max_age=60) == value
    assert links.read_token(token, purpose) == value


def test_it_follows_a_changed_secret_key(settings):
    value = uuid.uuid4().hex
    with time_machine.travel(timezone.now(), tick=False):
        before = links.BatchSigner(links.PAGE).sign(value)
        settings.SECRET_KEY = "another secret key for this test only, long enough to be accepted"
        after = links.BatchSigner(links.PAGE).sign(value)
        assert after != before
        assert after == django_signer(links.PAGE).sign(value)


def test_it_refuses_an_unknown_purpose():
    with pytest.raises(ValueError):
        links.BatchSigner("everything")


def test_it_signs_with_the_time_it_was_made():
    signer = links.BatchSigner(links.CONFIRM)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        token = signer.sign("abc")
        with pytest.raises(links.InvalidLink):
            links.read_token(token, links.CONFIRM)


@pytest.mark.parametrize("scope", ["cohort", "group"])
def test_it_makes_the_context_djangos_signer_makes(scope):
    public_id, name = uuid.uuid4(), "Ada  Lovelace"
    with time_machine.travel(timezone.now(), tick=False):
        made = links.context_maker(scope)(public_id, name)
        page = django_signer(links.PAGE).sign(public_id.hex)
        unsubscribe = django_signer(links.UNSUBSCRIBE).sign(scope[0] + public_id.hex)
    assert made == {
        "learner.first_name": "Ada",
        "learner.name": name,
        "learner.page_url": links._link("learners:page", page),
        "unsubscribe_url": links._link("learners:unsubscribe", unsubscribe),
    }
    assert links.context_for(public_id, name, scope)["learner.name"] == name


def test_it_makes_links_that_lead_to_the_learner():
    ada = make_learner(make_cohort(), "ada@example.org", name="Ada Lovelace")
    ctx = links.context_maker("group")(ada.public_id, ada.name)
    assert links.learner_from_token(ctx["learner.page_url"].rstrip("/").rsplit("/", 1)[1], links.PAGE) == ada
    assert links.unsubscribe_target(ctx["unsubscribe_url"].rstrip("/").rsplit("/", 1)[1]) == (ada, "group")


def test_it_leaves_the_first_name_empty_for_a_blank_name():
    assert links.context_maker()(uuid.uuid4(), "  ")["learner.first_name"] == ""


@pytest.mark.parametrize("purpose", PURPOSES)
def test_one_signer_makes_djangos_tokens_for_many_values_of_any_length(purpose):
    # The HMAC pads are fed once and copied per token: a token must not change the next one's.
    values = ["", "c", "g" + uuid.uuid4().hex, "x" * 55, "y" * 56, "z" * 64, "w" * 200, "é" + uuid.uuid4().hex]
    with time_machine.travel(timezone.now(), tick=False):
        signer = links.BatchSigner(purpose)
        tokens = [signer.sign(v) for v in values + values]
        assert tokens == [django_signer(purpose).sign(v) for v in values + values]
