from __future__ import annotations

import pytest

from mmooc.mailer import outbox, verp
from mmooc.mailer.outbox import Recipient

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery():
    return outbox.send(to="a@example.org", subject="Hi", body="x")


def test_it_finds_the_delivery_from_its_bounce_address(delivery, settings):
    address = verp.make_bounce_address(delivery)
    assert address.startswith("bounces+") and address.endswith("@" + settings.LIST_DOMAIN)
    assert verp.delivery_from_bounce_address(address) == delivery


def test_it_accepts_an_upper_cased_bounce_address(delivery):
    assert verp.delivery_from_bounce_address(verp.make_bounce_address(delivery).upper()) == delivery


def test_it_rejects_a_forged_token(delivery):
    address = verp.make_bounce_address(delivery)
    local, domain = address.split("@")
    forged = f"{local[:-1]}{'0' if local[-1] != '0' else '1'}@{domain}"
    assert verp.delivery_from_bounce_address(forged) is None


def test_it_rejects_another_domain(delivery):
    local = verp.make_bounce_address(delivery).split("@")[0]
    assert verp.delivery_from_bounce_address(f"{local}@evil.example.org") is None


def test_is_bounce_address_recognises_the_shape(delivery):
    assert verp.is_bounce_address(verp.make_bounce_address(delivery))
    assert not verp.is_bounce_address("g12@lists.course.example.org")


def test_the_unsubscribe_address_names_the_delivery_too(delivery):
    msg = outbox.compose(kind="transactional", subject="x", body="x")
    outbox.enqueue(msg, [Recipient("b@example.org")])
    address = verp.make_unsubscribe_address(delivery)
    assert verp.delivery_from_unsubscribe_address(address) == delivery
    assert verp.delivery_from_bounce_address(address) is None
