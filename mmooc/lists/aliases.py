""""This is also me": a post from an address that belongs to no member is held, not refused.

    hold(group, post, raw, envelope_sender)   store it held, tell the sender once (a link)
    alias_member(members, addresses)          the member one of the addresses is an alias of
    release(learner, address)                 relay what the address sent while it was unknown
    expire_held()                             forget held posts nobody claimed (periodic)
    forget_held(cohort_id, addresses)         an erased learner's held posts go

The sender proves they are a member through their known address: on the notice's page they
type the address they signed up with, and that address (only it, never the one typed in the
post) gets a link and a code. The page answers the same whether or not the address is a
member's. Once confirmed, the address is the learner's alias (learners.lifecycle.add_alias)
and the held posts from it go to the group as the member's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership, StudyGroup
from mmooc.groups.welcome import group_language, members_of
from mmooc.learners.models import Learner, LearnerAlias, email_key
from mmooc.lib.languages import content_language, speaking
from mmooc.lists import inbound as checks
from mmooc.lists import notices
from mmooc.lists.models import Post, Refusal
from mmooc.operations import counters

log = logging.getLogger("mmooc.lists")

# The held_reason of a post from an unknown address: how staff and the code tell it from spam holds.
UNKNOWN_SENDER = "Sent from an address no member has confirmed yet"
HOLD_DAYS = 7  # a held post nobody claims is deleted after this
CLAIM_MAX_AGE = timedelta(days=HOLD_DAYS)  # the notice's link
CONFIRM_MAX_AGE = timedelta(days=1)  # the link sent to the member's address
CODE_MAX_AGE = timedelta(hours=1)  # the code sent with it, typed on the page
CODE_TRIES = 5  # wrong codes allowed per code
SENDS_PER_HOUR = 5  # codes one held post may have sent in an hour
CODES_PER_DAY = 5  # codes one member address may be sent in a day, whoever asks
_CLAIM, _CONFIRM, _PENDING = "mmooc.lists.alias.claim", "mmooc.lists.alias.confirm", "mmooc.lists.alias.code"


class InvalidClaim(Exception):
    """A tampered, expired or spent link, or a post no longer held."""


# The relay's side ---------------------------------------------------------------------


def alias_member(members: list[Any], addresses: list[str]) -> Any | None:
    """The member (relay.Member) whose confirmed alias is the first of `addresses` that is one."""
    keys = [email_key(a) for a in addresses if a]
    by_learner = {m.learner_id: m for m in members}
    if not keys or not by_learner:
        return None
    found = dict(LearnerAlias.objects.confirmed().filter(address_key__in=keys, learner_id__in=list(by_learner))
                 .values_list("address_key", "learner_id"))
    return next((by_learner[found[k]] for k in keys if k in found), None)


def may_become_alias(group: StudyGroup, address: str) -> bool:
    """An address no learner of the cohort uses (as their own or as an alias) may be claimed."""
    key = email_key(address)
    if not key or "@" not in key or key.endswith("@" + settings.LIST_DOMAIN.lower()) or len(key) > 254:
        return False
    cohort = group.cohort_id
    return not (Learner.objects.filter(cohort_id=cohort, email_key=key).exclude(state=Learner.ERASED).exists()
                or LearnerAlias.objects.filter(cohort_id=cohort, address_key=key).exists())


def hold(group: StudyGroup, post: checks.Inbound, raw: bytes, envelope_sender: str) -> Any | None:
    """Store a post from an unknown address, held, and send its sender one notice with a link.
    None when the address may not be claimed (another learner's): the caller refuses as before."""
    from mmooc.lists import relay

    address = post.from_address or envelope_sender
    if not may_become_alias(group, address):
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            stored = Post.objects.create(
                group=group, author=None, author_name=(post.from_name or address.partition("@")[0])[:200],
                message_id=post.message_id, in_reply_to=post.in_reply_to, references=" ".join(post.references),
                thread_id=relay.thread_id_for(group, post), subject=post.subject[:998],
                text=checks.body_text(post.message), raw=raw, size=len(raw), received_at=now,
                held=True, held_reason=UNKNOWN_SENDER)
    except IntegrityError:
        if Post.objects.filter(group=group, message_id=post.message_id).exists():
            return relay._duplicate(group, post)
        raise
    notified = send_hold_notice(stored, address, envelope_sender or address, now=now)
    Refusal.objects.create(group=group, reason=Refusal.NON_MEMBER, sender=address[:254],
                           detail=f"Held for {HOLD_DAYS} days, until the sender confirms they are a member",
                           envelope_sender=envelope_sender[:254], message_id=post.message_id,
                           subject=post.subject[:998], size=len(raw), notified=notified)
    counters.add("posts", label="held")
    log.info("lists: held a post to %s from an unknown address", group.address)
    return relay.Outcome(group.address, relay.HELD, 250, "2.0.0",
                         "Accepted and held until the sender confirms they are a member", stored.pk)


def hold_texts() -> tuple[str, str]:
    """The held post's notice, subject and body, in the active language (the group's)."""
    return (_("Your message to {{ group_name }} is waiting"),
            _("""Your message “{{ subject }}” to {{ group_address }} has not been sent to the group yet: \
only members can write to it, and we do not know the address {{ address }}.

If you are a member writing from another address, open this link within {{ days }} days and confirm \
through the address you signed up with. Your message then goes to the group, and so will your later \
messages from this address.

[This is also me]({{ claim_url }})

If you are not a member, there is nothing to do: the message is deleted after {{ days }} days.

This is an automatic reply; you will get at most one a day.
"""))


with translation.override(None):
    HOLD_SUBJECT, HOLD_BODY = hold_texts()


def send_hold_notice(post: Post, address: str, to: str, *, now: datetime | None = None) -> bool:
    """The held post's notice, at most once a day per address (the refusal notices' limit)."""
    answered = notices.answerable(to)
    if answered is None:
        return False
    group = post.group
    context = {"group_name": group.name, "group_address": group.address, "address": address,
               "subject": _plain(post.subject), "days": str(HOLD_DAYS),
               "claim_url": settings.BASE_URL + reverse("lists:also_me", args=[claim_token(post, address)])}
    # The sender is nobody we know yet: the notice speaks the group's language.
    with speaking(group_language(group, members_of([group])[group.pk])):
        subject, body = hold_texts()
        context["subject"] = context["subject"] or _("(no subject)")
        headers = {"Auto-Submitted": "auto-replied", "In-Reply-To": post.message_id,
                   "References": post.message_id, **content_language()}
    return notices.send_once_a_day(group, answered, subject=subject, body=body, headers=headers, context=context,
                                   now=now)


def _plain(text: str) -> str:
    return checks.clean_text(text)[:120]


# Links and codes ----------------------------------------------------------------------


def claim_token(post: Post, address: str) -> str:
    return signing.dumps({"p": post.pk, "a": email_key(address)}, salt=_CLAIM)


def confirm_token(post: Post, address: str, learner: Learner) -> str:
    return signing.dumps({"p": post.pk, "a": email_key(address), "l": learner.public_id.hex}, salt=_CONFIRM)


def pending_token(post: Post, address: str, member_address: str) -> str:
    """What the page keeps while the visitor waits for the code: nothing they did not type."""
    return signing.dumps({"p": post.pk, "a": email_key(address), "m": email_key(member_address)}, salt=_PENDING)


def _read(token: str, salt: str, max_age: timedelta, keys: Iterable[str]) -> dict[str, Any]:
    try:
        value = signing.loads(token[:2000], salt=salt, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidClaim(_("This link is not valid or has expired.")) from None
    if not isinstance(value, dict) or any(not isinstance(value.get(k), str | int) for k in keys):
        raise InvalidClaim(_("This link is not valid or has expired."))
    return value


def held_post(post_id: int | str) -> Post:
    post = (Post.objects.filter(pk=post_id, held=True, held_reason=UNKNOWN_SENDER, author__isnull=True)
            .select_related("group").first())
    if post is None:
        raise InvalidClaim(_("This message is no longer waiting: it was sent, or deleted after "
                             "{days} days.").format(days=HOLD_DAYS))
    return post


def read_claim(token: str) -> tuple[Post, str]:
    value = _read(token, _CLAIM, CLAIM_MAX_AGE, ("p", "a"))
    return held_post(value["p"]), str(value["a"])


def read_confirm(token: str) -> tuple[Post, str, Learner]:
    """(the post, held or already released; the address; the member)."""
    value = _read(token, _CONFIRM, CONFIRM_MAX_AGE, ("p", "a", "l"))
    learner = Learner.objects.filter(public_id=_uuid(value["l"])).first()
    if learner is None:
        raise InvalidClaim(_("This link is not valid or has expired."))
    post = Post.objects.filter(pk=value["p"]).select_related("group").first()
    if post is None:
        raise InvalidClaim(_("This message is no longer waiting: it was deleted after {days} days.").format(
            days=HOLD_DAYS))
    return post, str(value["a"]), learner


def read_pending(token: str) -> tuple[Post, str, str]:
    value = _read(token, _PENDING, CODE_MAX_AGE, ("p", "a", "m"))
    return held_post(value["p"]), str(value["a"]), str(value["m"])


def _uuid(value: object) -> str:
    import uuid

    try:
        return str(uuid.UUID(hex=str(value)))
    except ValueError:
        raise InvalidClaim(_("This link is not valid or has expired.")) from None


def code_for(pending: str, learner: Learner) -> str:
    """Six digits only the member's mailbox learns: keyed by the site's secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{pending}|{learner.public_id.hex}".encode(),
                      hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def member_of(group: StudyGroup, address: str) -> Learner | None:
    """The group's active member with that address (their own, not an alias), if any."""
    membership = (Membership.objects.active().filter(group=group, learner__email_key=email_key(address))
                  .exclude(learner__state__in=(Learner.LEFT, Learner.ERASED)).select_related("learner").first())
    return membership.learner if membership else None


def is_member(group: StudyGroup, learner: Learner) -> bool:
    return (Membership.objects.active().filter(group=group, learner=learner).exists()
            and learner.state not in (Learner.LEFT, Learner.ERASED))


def code_texts() -> tuple[str, str]:
    """The member's link and code, subject and body, in the active language (the member's)."""
    return (_("Is {{ address }} also you?"),
            _("""Hello{{ greeting }},

Someone writing from {{ address }} says it is also your address, and sent a message to your study \
group {{ group_name }}: “{{ subject }}”.

If that was you, add the address to your membership: the message then goes to the group, and so \
will your later messages from that address.

[Yes, this is also me]({{ confirm_url }})

Or type this code on the page where you asked: **{{ code }}** (it works for one hour).

If it was not you, ignore this email: nothing changes.
"""))


with translation.override(None):
    CODE_SUBJECT, CODE_BODY = code_texts()


def send_code(post: Post, address: str, learner: Learner, pending: str) -> None:
    """To the member's known address: the link and the code that add `address` as their alias."""
    from mmooc.mailer import outbox

    url = settings.BASE_URL + reverse("lists:also_me_confirm", args=[confirm_token(post, address, learner)])
    with speaking(learner.language):
        subject, body = code_texts()
        context = {"greeting": f" {learner.first_name}" if learner.first_name else "", "address": address,
                   "group_name": post.group.name, "subject": _plain(post.subject) or _("(no subject)"),
                   "confirm_url": url, "code": code_for(pending, learner)}
        outbox.send(to=learner.email, subject=subject, body=body, context=context, headers=content_language(),
                    scope=Cohort.scope_for(learner.cohort_id), tag="alias-code", ref=str(learner.public_id))


# Release, expiry, erasure ------------------------------------------------------------


def sender_of(post: Post) -> set[str]:
    """The addresses a stored post came from (From, Sender, Reply-To, Return-Path)."""
    from mmooc.lists.erasure import addresses_in

    return addresses_in(bytes(post.raw))


def _held_from(address: str, groups: Iterable[int]) -> list[Post]:
    key = email_key(address)
    held = Post.objects.filter(group_id__in=list(groups), held=True, held_reason=UNKNOWN_SENDER,
                               author__isnull=True).select_related("group__cohort__course")
    return [p for p in held if _from_address(p) == key]


def _from_address(post: Post) -> str:
    try:
        parsed = checks.parse(bytes(post.raw))
    except checks.Defective:
        return ""
    return parsed.from_address


def release(learner: Learner, address: str) -> int:
    """Relay, once each, the held posts `address` sent to the learner's groups; how many went."""
    groups = Membership.objects.active().filter(learner=learner).values_list("group_id", flat=True)
    return sum(_release_one(post, learner) for post in _held_from(address, groups))


def _release_one(post: Post, author: Learner) -> bool:
    from mmooc.lists import relay

    return relay.relay_held(post, author=author)


def expire_held(now: datetime | None = None) -> int:
    """Held posts from unknown addresses that nobody claimed in HOLD_DAYS are deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=HOLD_DAYS)
    deleted, _rows = Post.objects.filter(held=True, held_reason=UNKNOWN_SENDER, author__isnull=True,
                                     received_at__lt=cutoff).delete()
    return deleted


def forget_held(cohort_id: int, addresses: Iterable[str]) -> int:
    """An erased learner's held posts (from their address or an alias) are deleted."""
    keys = {email_key(a) for a in addresses if a}
    held = Post.objects.filter(group__cohort_id=cohort_id, held=True, held_reason=UNKNOWN_SENDER,
                               author__isnull=True)
    doomed = [p.pk for p in held if sender_of(p) & keys]
    Post.objects.filter(pk__in=doomed).delete()
    return len(doomed)
