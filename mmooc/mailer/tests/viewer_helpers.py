from __future__ import annotations

from mmooc.lib.env import parse_email_url
from mmooc.mailer import engine, outbox
from mmooc.mailer.models import Message
from mmooc.mailer.outbox import Recipient


def sent_in_outbox(settings, n: int = 2) -> Message:
    """A subscribed message delivered by the engine in outbox mode."""
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    msg = outbox.compose(kind=Message.SUBSCRIBED, subject="Welcome, {{ name }}",
                         body="Confirm here: [confirm]({{ confirm_url }})\n\n<script>alert(1)</script>",
                         list_id="py-3.announce.example.org")
    outbox.enqueue(msg, [Recipient(f"l{i}@example.org", {
        "name": f"L{i}", "confirm_url": f"https://course.example.org/confirm/tok{i}",
        "unsubscribe_url": f"https://course.example.org/u/{i}"}) for i in range(n)])
    engine.drain()
    return msg
