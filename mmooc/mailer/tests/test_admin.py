"""The outbox in Django's admin: finding a copy by its Message-ID, and showing it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_user("root", "root@course.example.org", "pw", is_staff=True,
                                                is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def copies():
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hello", body="Hi")
    outbox.enqueue(message, [outbox.Recipient(f"l{i}@example.org") for i in range(3)])
    made, kept = message.deliveries.order_by("pk")[:2]
    Delivery.objects.filter(pk=kept.pk).update(rfc_message_id="<old-1@course.example.org>")
    return made, kept


@pytest.mark.parametrize("shown", [lambda i: i, lambda i: i.strip("<>")], ids=["brackets", "bare"])
def test_it_finds_a_copy_by_a_message_id_made_from_the_ids(admin_client, copies, shown):
    made, _ = copies
    response = admin_client.get("/admin/mailer/delivery/", {"q": shown(made.header_message_id())})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [made]


def test_it_still_finds_a_copy_by_a_message_id_kept_in_its_row(admin_client, copies):
    _, kept = copies
    response = admin_client.get("/admin/mailer/delivery/", {"q": "<old-1@course.example.org>"})
    assert list(response.context["cl"].result_list) == [kept]


def test_a_made_up_message_id_finds_nothing(admin_client, copies):
    made, kept = copies
    forged = kept.message.copy_message_id(made.pk + 100)
    response = admin_client.get("/admin/mailer/delivery/", {"q": forged})
    assert list(response.context["cl"].result_list) == []


def test_a_copy_s_page_shows_the_message_id_it_goes_out_with(admin_client, copies):
    made, _ = copies
    response = admin_client.get(f"/admin/mailer/delivery/{made.pk}/change/")
    assert response.status_code == 200
    assert made.header_message_id().replace("<", "&lt;").replace(">", "&gt;") in response.text
