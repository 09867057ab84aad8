"""A delivery's context is written as json.dumps writes it, built faster for string values."""

from __future__ import annotations

import json

import pytest

from mmooc.mailer import outbox

CONTEXTS = [
    {},
    {"name": "Ana", "unsubscribe_url": "https://course.example.org/u/abc"},
    {"name": "José 東京 🎓", "note": 'a "quote", a \\ and a \t\n\r\x00\x1f\u2028'},
    {"unsubscribe_url": "https://x.example.org/u", "name": "Ana"},  # the same keys in another order
    {"name": "Ana", "size": 40, "ok": True, "none": None},  # values that are not strings
    {1: "a number for a key", "name": "Ana"},
    {"ünïcode key": "v", "name": "Ana"},
]


@pytest.mark.parametrize("used", [None, {"name", "unsubscribe_url"}, set()])
def test_it_writes_what_json_dumps_writes(used):
    keys: dict[str, str] = {}
    for _ in range(2):  # first with keys not seen yet, then with them known
        for context in CONTEXTS:
            kept = dict(context) if used is None else {k: v for k, v in context.items() if k in used}
            assert outbox._context_json(context, used, keys) == json.dumps(kept)


def test_stored_contexts_read_back_as_given(db):
    from mmooc.mailer.models import Message

    msg = outbox.compose(kind=Message.TRANSACTIONAL, subject="Hi", body="{{ name }} {{ note }}")
    context = {"name": "José 東京", "note": 'a "b" \\ c', "x": "dropped"}
    outbox.enqueue(msg, [outbox.Recipient("a@example.org", context)])
    assert msg.deliveries.get().context == {"name": "José 東京", "note": 'a "b" \\ c'}
