"""mmooc.lib.prepared.insert, as the relay stores its outbox message: the same row as save() writes."""

from __future__ import annotations

import pytest

from mmooc.lib import prepared
from mmooc.mailer.models import Message

pytestmark = pytest.mark.django_db


def test_insert_writes_the_object_as_save_would():
    message = prepared.insert(Message(kind=Message.SUBSCRIBED, from_email="a@example.org", subject="Hi",
                                      raw=b"Subject: Hi\r\n\r\n\x00\xff", headers={"X-A": "1"}))
    assert message.pk is not None and not message._state.adding
    stored = Message.objects.get(pk=message.pk)
    assert (bytes(stored.raw), stored.headers, stored.public_id) == (b"Subject: Hi\r\n\r\n\x00\xff", {"X-A": "1"},
                                                                      message.public_id)
