"""Conversations for the demo's study groups, relayed through the real relay code."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

# (subject, body, replies as (body,))
THREADS = [
    ("Hello from {city}!",
     "Hi everyone,\n\nI'm {first}, joining from {city}. I've never programmed before and I'm a bit "
     "nervous, but excited. I plan to do the reading on weekday evenings.\n\nWould anyone like to "
     "meet for a video call on the weekend to go through the first exercises together?\n\n{first}",
     ["Hi {to}! Count me in for the weekend call. I'm an absolute beginner too.",
      "Welcome! Saturday 14:00 UTC works for me. I'll share a link here on Friday."]),
    ("Week 1: stuck on the installation",
     "Hello group,\n\nI installed Python but when I type `python` in the terminal it opens the "
     "Microsoft Store. Has anyone seen this?\n\nThanks, {first}",
     ["That happened to me too: untick \"Add python.exe to PATH\" is the usual culprit. Re-run the "
      "installer and tick it, then open a *new* terminal window.",
      "Also try `py` instead of `python` on Windows - that worked for me."]),
    ("Sharing my solution to exercise 2.3",
     "Here's what I came up with for the grid exercise. It works, but it feels long:\n\n"
     "    def do_twice(f):\n        f()\n        f()\n\nAny ideas on how to make it shorter?",
     ["Nice! You could pass the row as an argument and reuse one function for both shapes."]),
]


def thread_messages(group_address: str, members: list[tuple[str, str, str]], thread: int) -> list[bytes]:
    """Raw posts of one thread: the first by members[0], replies by the following members."""
    subject, body, replies = THREADS[thread % len(THREADS)]
    author, first, city = members[0]
    root = _post(author, first, group_address, subject.format(city=city),
                 body.format(first=first, city=city), None)
    posts = [root]
    for n, reply in enumerate(replies, start=1):
        addr, name, _ = members[n % len(members)]
        posts.append(_post(addr, name, group_address, "Re: " + subject.format(city=city),
                           reply.format(to=first), posts[-1]))
    return [p.as_bytes() for p in posts]


def _post(address: str, name: str, group: str, subject: str, body: str, parent: EmailMessage | None
          ) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{name} <{address}>"
    msg["To"] = group
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = make_msgid(domain=address.rpartition("@")[2])
    if parent is not None:
        msg["In-Reply-To"] = parent["Message-ID"]
        msg["References"] = " ".join(filter(None, [parent.get("References"), parent["Message-ID"]]))
    msg.set_content(body)
    return msg
