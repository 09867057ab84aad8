"""Taking an erased learner's name and address out of the posts they wrote, and their copies.

A stored post keeps its raw bytes for the archive and the mbox export; after "delete my
data" the author's From, Sender and Reply-To read `"A member" <erased@list domain>`, other
header fields that name them (Return-Path, Received ... for <address>, envelope fields) go,
and the plain mentions of their name or address in the body and the subject (the stored
post's own too, which the archive lists and searches) read "A member" and the placeholder.
The outbox copy of each post (its stored bytes, and each member's rendered copy) is cleaned
the same way. Posts by others that quote the erased learner are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.header import decode_header, make_header
from email.utils import getaddresses

from mmooc.lib import mailheaders
from mmooc.lists.headers import Defective, _display, author_label, split_fields

ANONYMOUS = "A member"
# Header fields that name the author and are rewritten rather than dropped.
REWRITTEN = {"from": "From", "sender": "Sender", "reply-to": "Reply-To"}
# Fields the message needs to be read or threaded: kept as they are (the subject with the
# person's name and address replaced).
KEPT = ("content-", "mime-version", "message-id", "in-reply-to", "references", "date", "subject", "list-")
MIN_NAME = 3
# Fields of the author's own post read for the addresses they used.
ADDRESS_FIELDS = ("from", "sender", "reply-to", "return-path")


class Identity:
    """What to look for: the learner's names and addresses, as words, case-insensitively."""

    def __init__(self, names: Iterable[str], addresses: Iterable[str]) -> None:
        # A name of one or two letters would match ordinary words: the address still counts.
        self.names = sorted({n.strip() for n in names if n and len(n.strip()) >= MIN_NAME}, key=len, reverse=True)
        self.addresses = sorted({a.strip().lower() for a in addresses if a and "@" in a}, key=len, reverse=True)
        words = [re.escape(a) for a in self.addresses] + [rf"\b{re.escape(n)}\b" for n in self.names]
        self.pattern = re.compile("|".join(words), re.IGNORECASE) if words else None

    def named_in(self, text: str) -> bool:
        return bool(self.pattern and self.pattern.search(text))

    def replaced(self, text: str, placeholder: str) -> str:
        if not self.pattern:
            return text
        return self.pattern.sub(lambda m: placeholder if "@" in m.group(0) else ANONYMOUS, text)


def placeholder_for(list_address: str) -> str:
    return f"erased@{list_address.rpartition('@')[2] or 'erased.invalid'}"


def addresses_in(raw: bytes) -> set[str]:
    """The addresses the author's own post gives for them (From, Sender, Reply-To, Return-Path)."""
    try:
        fields, _ = split_fields(raw)
    except Defective:
        return set()
    values = [_decoded(line) for name, line in fields if name in ADDRESS_FIELDS]
    return {address.lower() for _, address in getaddresses(values) if "@" in address}


def _decoded(line: bytes) -> str:
    value = line.partition(b":")[2].decode("utf-8", "replace")
    value = " ".join(value.split())
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # an unreadable encoded-word: look at it as written
        return value


def scrub(raw: bytes, who: Identity, from_value: str, placeholder: str) -> bytes:
    """The message without the person: named From/Sender/Reply-To become `from_value`,
    other fields naming them go, plain mentions in the body are replaced."""
    try:
        fields, body = split_fields(raw)
    except Defective:
        return _replace_bytes(raw, who, placeholder)
    head: list[bytes] = []
    for name, line in fields:
        if not who.named_in(_decoded(line)):
            head.append(line)
        elif name in REWRITTEN:
            head.append(mailheaders.line(REWRITTEN[name], from_value).encode("ascii").rstrip(b"\r\n"))
        elif name == "subject":
            head.append(_replace_bytes(line, who, placeholder))
        elif name.startswith(KEPT):
            head.append(line)
    return b"".join(line + b"\r\n" for line in head) + b"\r\n" + _replace_bytes(body, who, placeholder)


def _replace_bytes(data: bytes, who: Identity, placeholder: str) -> bytes:
    text = data.decode("utf-8", "surrogateescape")
    return who.replaced(text, placeholder).encode("utf-8", "surrogateescape")


def forget_author(learner_id: int, name: str, address: str, others: Iterable[str] = ()) -> int:
    """Clean every post the learner wrote, its outbox copies, and refusals of their address
    (and of `others`, the other addresses they wrote from)."""
    from mmooc.lists.models import Notice, Post, Refusal
    from mmooc.mailer.models import Delivery, Message

    posts = list(Post.objects.filter(author_id=learner_id).select_related("group"))
    names = {name, *(p.author_name for p in posts)}
    addresses = {address, *others}
    for post in posts:
        addresses |= addresses_in(bytes(post.raw))
    who = Identity(names, addresses)
    for post in posts:
        placeholder = placeholder_for(post.group.address)
        post.raw = scrub(bytes(post.raw), who, _display(ANONYMOUS, placeholder), placeholder)
        post.size = len(post.raw)
        post.text = who.replaced(post.text, placeholder)
        post.subject = who.replaced(post.subject, placeholder)  # the archive's lists and search show it
        post.author_name = ""
        post.save(update_fields=["raw", "size", "text", "subject", "author_name"])
        if post.outbox_message_id is None:
            continue
        shown = _display(author_label(ANONYMOUS, post.group.name), post.group.address.lower())
        message = Message.objects.get(pk=post.outbox_message_id)
        if message.raw is not None:
            message.raw = scrub(bytes(message.raw), who, shown, placeholder)
        message.from_email = who.replaced(message.from_email, placeholder)
        message.save(update_fields=["raw", "from_email"])
        for delivery in Delivery.objects.filter(message_id=message.pk, stored__isnull=False).only("pk", "stored"):
            stored = scrub(bytes(delivery.stored or b""), who, shown, placeholder)
            Delivery.objects.filter(pk=delivery.pk).update(stored=stored)
    for each in who.addresses:
        Refusal.objects.filter(sender__iexact=each).update(sender="")
        Refusal.objects.filter(envelope_sender__iexact=each).update(envelope_sender="")
        Notice.objects.filter(address__iexact=each).delete()
    return len(posts)
