"""A relayed copy's SMTP DATA is made from its own headers and the post's bytes made ready
once: byte for byte what making the whole copy ready gives."""

from __future__ import annotations

import pytest

from mmooc.mailer.models import Message
from mmooc.mailer.render import PreparedRaw
from mmooc.mailer.transports import Job, _wire, personalize, wire_copy

POSTS = {
    "crlf": b"From: a@example.org\r\nSubject: Hi\r\n\r\nLine one\r\n.dot line\r\nlast",
    "lf": b"From: a@example.org\nSubject: Hi\n\nLine one\n.dot line\n..two dots\n",
    "mixed": b"From: a@example.org\r\nSubject: Hi\r\n\r\nCRLF line\r\nLF line\n.after LF\nbare\rCR\r\n",
    "with To": b"To: group@lists.example.org\r\nFrom: a@example.org\r\n\r\n.\r\nbody",
    "dot first": b".From: odd\r\n\r\nbody\r\n",
}


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("unsubscribe", ["https://course.example.org/u/abc", ""])
def test_a_relayed_copy_on_the_wire_is_the_whole_copy_made_ready(name, unsubscribe):
    message = Message(pk=7, raw=POSTS[name], list_id="py-3-group-1.lists.example.org", list_name="Group 1",
                      kind=Message.SUBSCRIBED, from_email="a@example.org", subject="Hi", headers={})
    prepared = PreparedRaw(message)
    for delivery_id in (11, 12):  # the second copy reuses what the first made ready
        job = Job(id=delivery_id, message_id=7, recipient=f"m{delivery_id}@example.org",
                  context={"unsubscribe_url": unsubscribe} if unsubscribe else {},
                  rfc_message_id="<x@example.org>", attempts=1, prepared=prepared)
        assert wire_copy(job) == _wire(personalize(job), foreign=True)
