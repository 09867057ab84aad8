"""The relay: every message for a group address ends here, whichever door it came in by.

    receive(raw, envelope_sender, envelope_recipients) -> [Outcome, …]

One Outcome per recipient, in order, each with the SMTP reply the LMTP server gives for
it (MAIL_RULES 21–25, 35, 40–42, 50–52). A relayed post is stored and its copies queued
in the outbox in one transaction, so a 250 means both are committed. Loops, bounces,
automatic replies and posts from non-members are accepted and dropped (a refusal would
make the sending server mail a bounce back), recorded as Refusal rows for staff. A
member's post over the size limit (up to a ceiling) and a muted member's post are held
for staff to decide (mmooc.lists.moderation), and their sender is told it waits.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parseaddr
from functools import lru_cache, partial
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone

from mmooc.checkins import intake
from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner, email_key
from mmooc.lib.compiled import CompiledQuery
from mmooc.lib.mailrender import UNSUBSCRIBE_VAR
from mmooc.lists import aliases, notices, threads
from mmooc.lists import inbound as checks
from mmooc.lists.headers import author_label, build_copy, shown_address, tag_subject
from mmooc.lists.links import list_info
from mmooc.lists.models import Moderation, Post, Refusal
from mmooc.lists.signals import post_relayed
from mmooc.mailer import bounces
from mmooc.mailer.models import Message as OutboxMessage
from mmooc.operations import counters

log = logging.getLogger("mmooc.lists")

MAX_POST_BYTES = getattr(settings, "LIST_MAX_POST_BYTES", 10 * 1024 * 1024)
# Bigger than MAX_POST_BYTES, up to this: held (too big); bigger still: refused with 552.
MAX_HELD_POST_BYTES = getattr(settings, "LIST_MAX_HELD_POST_BYTES", 4 * MAX_POST_BYTES)
MAX_ADDRESS_LENGTH = 254  # RFC 5321's longest path; a longer one names no group

RELAYED, HELD, DUPLICATE, DROPPED, REFUSED, BOUNCE, UNSUBSCRIBE, TEMPFAIL, CHECKIN = (
    "relayed", "held", "duplicate", "dropped", "refused", "bounce", "unsubscribe", "tempfail", "checkin")


@dataclass(frozen=True)
class Outcome:
    """What became of a message for one recipient, and the LMTP reply that says so."""

    recipient: str
    action: str  # RELAYED, HELD, DUPLICATE, DROPPED, REFUSED, BOUNCE, UNSUBSCRIBE, TEMPFAIL or CHECKIN
    code: int
    status: str  # the enhanced status code, e.g. "5.1.1"
    text: str
    post_id: int | None = None

    @property
    def reply(self) -> str:
        return f"{self.code} {self.status} {self.text}"

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300


def receive(raw: bytes, envelope_sender: str | None, envelope_recipients: list[str], *,
            held_reason: str = "", notify_refused: bool = False,
            groups: Mapping[str, StudyGroup] | None = None) -> list[Outcome]:
    """Relay one inbound message to each recipient group.

    `envelope_sender` "" is the null sender of bounces; None means the door does not know it.
    `held_reason` (a provider's spam verdict) stores the post without relaying it.
    `notify_refused` also tells the sender about a message too big or unreadable, for the
    webhook door, where no SMTP refusal reaches them.
    `groups` are the recipients' groups if the door has just looked them up (LMTP, at RCPT).
    """
    delivery = _Delivery(raw, envelope_sender, held_reason, notify_refused, groups or {})
    return [delivery.outcome_for(r) for r in envelope_recipients]


def max_post_mb() -> str:
    return f"{MAX_POST_BYTES / (1024 * 1024):g} MB"


class _Delivery:
    """One inbound message on its way to one or more recipients; parsed once."""

    def __init__(self, raw: bytes, envelope_sender: str | None, held_reason: str, notify_refused: bool,
                 groups: Mapping[str, StudyGroup]) -> None:
        self.raw = raw
        self.groups = groups
        self.sender_known = envelope_sender is not None
        self.envelope_sender = checks.clean_text(envelope_sender or "").strip("<>")
        self.held_reason = held_reason
        self.notify_refused = notify_refused
        self._parsed: checks.Inbound | checks.Defective | None = None

    @property
    def known_sender(self) -> str | None:
        """The envelope sender ("" for the null sender of bounces), or None when the door did not say."""
        return self.envelope_sender if self.sender_known else None

    def parsed(self) -> checks.Inbound:
        if self._parsed is None:
            try:
                self._parsed = checks.parse(self.raw)
            except checks.Defective as exc:
                self._parsed = exc
        if isinstance(self._parsed, checks.Defective):
            raise self._parsed
        return self._parsed

    def outcome_for(self, recipient: str) -> Outcome:
        """Everything done for one recipient commits together, or not at all (then 451, or
        the reply to a repeat when storing the post clashed with the group's copy of it)."""
        self.storing: tuple[StudyGroup, checks.Inbound] | None = None
        try:
            with transaction.atomic():
                return self._outcome(recipient.strip().strip("<>"))
        except Exception as exc:
            if isinstance(exc, IntegrityError) and self.storing is not None and is_repeat(*self.storing):
                return _duplicate(*self.storing)  # delivered before, or twice at once
            log.exception("lists: could not handle a message for %s", recipient)
            return Outcome(recipient, TEMPFAIL, 451, "4.3.0",
                           "Temporary problem on our side; please try again later")

    def _outcome(self, recipient: str) -> Outcome:
        if bounces.is_bounce_address(recipient):
            _handle_bounce(self.raw, recipient)
            return Outcome(recipient, BOUNCE, 250, "2.0.0", "Delivery report received")
        if bounces.is_unsubscribe_address(recipient):
            bounces.handle_unsubscribe(self.raw, recipient)
            return Outcome(recipient, UNSUBSCRIBE, 250, "2.0.0", "Unsubscribe request received")
        if intake.is_checkin_address(recipient):
            return self._checkin_reply(recipient)
        group = self.groups.get(recipient) or find_group(recipient)
        if group is None:
            log.info("lists: refused a message for %s: no such group", recipient)
            counters.add("posts_refused", label="unknown-address")
            return Outcome(recipient, REFUSED, 550, "5.1.1", f"No such group address: {recipient}")
        if len(self.raw) > MAX_HELD_POST_BYTES:
            return self._refuse(group, Refusal.TOO_BIG, 552, "5.3.4",
                                f"Message too big for {group.name}: posts are limited to {max_post_mb()}")
        try:
            post = self.parsed()
        except checks.Defective as exc:
            return self._defective(group, str(exc))
        if not post.message_id:
            return self._refuse(group, Refusal.NO_MESSAGE_ID, 550, "5.6.0",
                                f"Message not sent to {group.name}: it has no Message-ID header")
        return self._checked(group, post)

    def _reasons(self, post: checks.Inbound) -> list[tuple[str, str]]:
        message = post.message
        return [
            (Refusal.LOOP, checks.loop_reason(message, settings.LIST_DOMAIN)),
            (Refusal.BOUNCE, checks.bounce_reason(message, self.known_sender, post.from_address)),
            (Refusal.AUTO_REPLY, checks.auto_reply_reason(message, post.subject)),
        ]

    def _checked(self, group: StudyGroup, post: checks.Inbound) -> Outcome:
        try:
            reasons = self._reasons(post)
        except Exception:  # header values hostile enough to break the parser on reading
            return self._defective(group, "its headers cannot be read")
        for reason, why in reasons:
            if why:
                if reason == Refusal.BOUNCE:
                    _handle_bounce(self.raw, group.address, strict=False)
                return self._drop(group, post, reason, why)
        members = group_members(group)
        addresses = [post.from_address, post.sender_address, self.envelope_sender]
        member = _first_member(members, addresses) or aliases.alias_member(members, addresses)
        too_big = len(self.raw) > MAX_POST_BYTES
        # A claimed address relays its held posts with no one looking: never one over the limit.
        if member is None and not too_big and not self.held_reason and "List-Id" not in post.message:
            held = aliases.hold(group, post, self.raw, self.envelope_sender)  # "this is also me"
            if held is not None:
                return held
        if member is None:
            # No notice for what the provider judged spam (its sender is most likely forged),
            # nor for another list's mail: no backscatter to lists (MAIL_RULES 55).
            return self._drop(group, post, Refusal.NON_MEMBER, "the sender may not post to the group",
                              notify=not self.held_reason and "List-Id" not in post.message)
        # A muted member's post, or one over the size limit, waits for staff (as in Mailman).
        ours = MUTED_MEMBER if member.muted else TOO_BIG if too_big else ""
        if not (self.held_reason or ours) and "List-Id" not in post.message:  # never answer another list's mail
            handled = intake.from_group_post(group, member.learner_id, checks.body_text(post.message),
                                             post.message_id)
            if handled is not None:  # recorded (or answered), not relayed
                return Outcome(group.address, CHECKIN, 250, "2.0.0", handled.text)
        held_reason = self.held_reason or ours or first_post_reason(group, member.learner_id)
        author = member.as_learner()
        self.storing = (group, post)
        try:
            outcome = store_and_relay(group, author, post, self.raw, held_reason=held_reason, members=members)
        except checks.Defective as exc:
            return self._defective(group, str(exc))
        if ours and outcome.action == HELD and held_reason == ours and "List-Id" not in post.message:
            from mmooc.lists import moderation

            moderation.send_held_notice(group, author, self.envelope_sender or post.from_address, post,
                                        held_reason, len(self.raw))
        return outcome

    def _checkin_reply(self, recipient: str) -> Outcome:
        """Mail to a cohort's check-in address: the same checks as a post, then the check-in.
        Whatever is not recorded is accepted and dropped, as for a group (no bounce back)."""
        cohort = intake.cohort_for_address(recipient)
        if cohort is None:
            counters.add("posts_refused", label="unknown-address")
            return Outcome(recipient, REFUSED, 550, "5.1.1", f"No such address: {recipient}")
        if len(self.raw) > MAX_POST_BYTES:
            return Outcome(recipient, REFUSED, 552, "5.3.4", f"Message too big: the limit is {max_post_mb()}")
        try:
            post = self.parsed()
            reasons = self._reasons(post)
        except Exception as exc:  # Defective, or headers hostile enough to break the parser on reading
            why = str(exc) if isinstance(exc, checks.Defective) else "its headers cannot be read"
            return Outcome(recipient, REFUSED, 501, "5.6.0", f"Message not read: {why}")
        if not post.message_id:
            return Outcome(recipient, REFUSED, 550, "5.6.0", "Message not read: it has no Message-ID header")
        why = next((why for _, why in reasons if why), "")
        if why or "List-Id" in post.message or self.held_reason:
            counters.add("checkins", label="not-a-person")
            return Outcome(recipient, DROPPED, 250, "2.0.0", f"Accepted, not recorded: {why or 'list or spam'}")
        handled = intake.from_reply(cohort, [post.from_address, post.sender_address, self.envelope_sender],
                                    checks.body_text(post.message), post.message_id)
        return Outcome(recipient, CHECKIN, 250, "2.0.0", handled.text)

    def _defective(self, group: StudyGroup, why: str) -> Outcome:
        return self._refuse(group, Refusal.DEFECTIVE, 501, "5.6.0", f"Message not sent to {group.name}: {why}",
                            detail=why)

    def _drop(self, group: StudyGroup, post: checks.Inbound, reason: str, why: str, *,
              notify: bool = False) -> Outcome:
        sender = post.from_address or self.envelope_sender
        notified = notify and send_notice(group, reason, self.envelope_sender or post.from_address, post.subject,
                                          post.message_id)
        Refusal.objects.create(group=group, reason=reason, sender=sender[:254], detail=why[:500],
                               envelope_sender=self.envelope_sender[:254], message_id=post.message_id,
                               subject=post.subject[:998], size=len(self.raw), notified=notified)
        counters.add("posts_refused", label=reason)
        log.info("lists: not relayed to %s (%s): %s", group.address, reason, why)
        return Outcome(group.address, DROPPED, 250, "2.0.0", f"Accepted, not relayed: {why}")

    def _refuse(self, group: StudyGroup, reason: str, code: int, status: str, text: str, *,
                detail: str = "") -> Outcome:
        headers = _headers_only(self.raw)
        sender, subject, message_id = _described(headers)
        notified = False
        if self.notify_refused and headers is not None and _may_notify(headers, self.known_sender):
            notified = send_notice(group, reason, self.envelope_sender or sender, subject, "", detail=detail)
        Refusal.objects.create(group=group, reason=reason, sender=sender[:254], detail=(detail or text)[:500],
                               envelope_sender=self.envelope_sender[:254], message_id=message_id,
                               subject=subject[:998], size=len(self.raw), notified=notified)
        counters.add("posts_refused", label=reason)
        log.info("lists: refused a message for %s: %s", group.address, text)
        return Outcome(group.address, REFUSED, code, status, text)


def find_group(address: str) -> StudyGroup | None:
    """The group of an address, whatever its case; one indexed query (group_address_lower)."""
    if len(address) > MAX_ADDRESS_LENGTH:
        return None
    return next(iter(_GROUP_BY_ADDRESS.objects(address.lower())), None)


# The group of a lower-cased address, with its cohort and course: the copies name the
# course's organizers (links.list_info); and whether its cohort holds first posts, which
# every post asks (first_post_reason). No ORDER BY: the index alone answers.
_GROUP_BY_ADDRESS = CompiledQuery(
    lambda address: (StudyGroup.objects.alias(lower_address=Lower("address")).filter(lower_address=address)
                     .annotate(holds_first_posts=Exists(Moderation.objects.filter(
                         cohort_id=OuterRef("cohort_id"), hold_first_post=True)))
                     .select_related("cohort__course").order_by()[:1]),
    "\0address")


class Member(NamedTuple):
    """An active member of a group, as one row of the query every post makes."""

    learner_id: int
    email: str
    email_key: str
    public_id: uuid.UUID
    name: str
    muted: bool
    delivery: str

    def as_learner(self) -> Learner:
        """The learner with the fields the relay reads; the others load when first read.

        from_db takes the values in the order of the model's fields, whatever order the names are given in."""
        return Learner.from_db(None, ["id", "public_id", "email", "email_key", "name"],
                               (self.learner_id, self.public_id, self.email, self.email_key, self.name))


def group_members(group: StudyGroup) -> list[Member]:
    """The group's active members: who may post, and who gets the copies, in one query."""
    return [Member(*row) for row in _MEMBERS.rows(group.pk)]


_MEMBERS = CompiledQuery(
    lambda group_id: (Membership.objects.active().filter(group_id=group_id)
                      .exclude(learner__state__in=(Learner.LEFT, Learner.ERASED))
                      .values_list("learner_id", "learner__email", "learner__email_key", "learner__public_id",
                                   "learner__name", "muted", "delivery")),
    -7_000_000_001)  # a group id no group has: the placeholder of the compiled query


def _first_member(members: list[Member], addresses: list[str]) -> Member | None:
    """The member of the first address that belongs to one, in the order given."""
    by_key = {m.email_key: m for m in members}
    return next((by_key[k] for k in (email_key(a) for a in addresses if a) if k in by_key), None)


def store_and_relay(group: StudyGroup, author: Learner, post: checks.Inbound, raw: bytes, *,
                    held_reason: str = "", now: datetime | None = None,
                    members: list[Member] | None = None) -> Outcome:
    """Store the post and queue one copy per member, in one transaction; once per Message-ID.

    `members` are the group's members if the caller has just read them. A post seen before
    is found by the unique constraint, not looked for first: repeats are rare, and the work
    done for one is rolled back. Inside a caller's transaction no savepoint is made (two
    round trips to the database for every post): the clash is raised, the caller's whole
    transaction is undone, and the caller tells a repeat by `is_repeat` (as `receive` does)."""
    now = now or timezone.now()
    author_name = author.name or post.from_name or author.email.partition("@")[0]
    # What may find the message unreadable (Defective) is done before anything is written.
    queue = None if held_reason else _copies(group, author, author_name, post, raw, now, members)
    text = checks.body_text(post.message)
    try:
        with transaction.atomic(savepoint=False):
            message = None if queue is None else queue()
            stored = Post.objects.create(
                group=group, author=author, author_name=author_name[:200], message_id=post.message_id,
                in_reply_to=post.in_reply_to, references=" ".join(post.references),
                thread_id=thread_id_for(group, post), subject=post.subject[:998],
                text=text, raw=raw, size=len(raw), received_at=now,
                held=bool(held_reason), held_reason=held_reason[:200], outbox_message=message)
            counters.add("posts", label="held" if held_reason else "relayed")
            if not held_reason:
                transaction.on_commit(lambda: post_relayed.send(sender=Post, post=stored))
    except IntegrityError:
        if not connection.in_atomic_block and is_repeat(group, post):
            return _duplicate(group, post)  # delivered before, or twice at once
        raise
    if held_reason:
        log.info("lists: held a post to %s: %s", group.address, held_reason)
        return Outcome(group.address, HELD, 250, "2.0.0", "Accepted and held for review", stored.pk)
    return Outcome(group.address, RELAYED, 250, "2.0.0", f"Sent to {group.name}", stored.pk)


# The held_reason of a new member's post, when the cohort holds first posts (Moderation).
FIRST_POST = "First post of a new member"
# The held_reason of a member's post over MAX_POST_BYTES, and of a muted member's post.
TOO_BIG = "Larger than the size limit for group posts"
MUTED_MEMBER = "Sent by a muted member"


def first_post_reason(group: StudyGroup, learner_id: int) -> str:
    """FIRST_POST when the cohort holds first posts and none of the member's posts has gone to the group.
    A group found by its address knows whether its cohort holds them (find_group); another is asked."""
    holds = getattr(group, "holds_first_posts", None)
    if not (_HOLDS_FIRST_POSTS.rows(group.cohort_id) if holds is None else holds):
        return ""
    relayed = Post.objects.filter(group=group, author_id=learner_id, held=False).exists()
    return "" if relayed else FIRST_POST


_HOLDS_FIRST_POSTS = CompiledQuery(
    lambda cohort_id: Moderation.objects.filter(cohort_id=cohort_id, hold_first_post=True).values_list("pk")[:1],
    -7_000_000_001)


def relay_held(post: Post, *, author: Learner | None = None, now: datetime | None = None) -> bool:
    """Relay a held post now, exactly as it would have gone on arrival; False when it is no longer
    held (approved, released or deleted meanwhile). The conditional update is the "once": two
    approvals at once relay it once. `author` names the member it is from (an address they have
    just claimed); else the post's own author, or its From address for a sender nobody knows."""
    with transaction.atomic():
        changes: dict[str, object] = {"held": False, "held_reason": ""}
        if author is not None:
            changes["author"] = author
        if not Post.objects.filter(pk=post.pk, held=True).update(**changes):
            return False
        raw = bytes(post.raw)
        parsed = checks.parse(raw)
        author = author or post.author
        name = (author.name if author else "") or post.author_name or parsed.from_name
        address = author.email if author else parsed.from_address
        message = _copies(post.group, author, name, parsed, raw, now or timezone.now(), address=address)()
        Post.objects.filter(pk=post.pk).update(outbox_message=message, author_name=name[:200])
        counters.add("posts", label="relayed")
        transaction.on_commit(lambda: _tell_relayed(post.pk))
    return True


def _tell_relayed(post_id: int) -> None:
    stored = Post.objects.filter(pk=post_id).select_related("group__cohort", "author").first()
    if stored is not None:
        post_relayed.send(sender=Post, post=stored)


def is_repeat(group: StudyGroup, post: checks.Inbound) -> bool:
    """Whether the group has a post of this Message-ID (its insert clashed: a repeat)."""
    return Post.objects.filter(group=group, message_id=post.message_id).exists()


def _duplicate(group: StudyGroup, post: checks.Inbound) -> Outcome:
    return Outcome(group.address, DUPLICATE, 250, "2.0.0", "Already received; sent once")


def _copies(group: StudyGroup, author: Learner | None, author_name: str, post: checks.Inbound,
            raw: bytes, now: datetime, members: list[Member] | None = None, *,
            address: str = "") -> Callable[[], OutboxMessage]:
    """The post's copies, built (Defective when the post cannot be), and what queues them when
    called: one outbox message and a row per member who takes each post (not its author).
    The one place copies are built, on arrival and when a held post is let through."""
    from mmooc.mailer import outbox

    info = list_info(group)
    address = address or (author.email if author is not None else post.from_address)
    copy = build_copy(raw, subject=post.subject, author_name=author_name, author_address=address,
                      info=info, now=now)
    return partial(outbox.compose_raw, raw=copy, scope=Cohort.scope_for(group.cohort_id), tag="relay",
                   list_id=info.list_id, list_name=info.name,
                   shown=(shown_address(author_label(author_name, info.name), info.address),
                          tag_subject(post.subject, info.tag)),
                   recipients=member_recipients(group, exclude=author, members=members, links=False),
                   ref_values=LEAVE_LINKS)


class LearnerRef(NamedTuple):
    """A learner as the link builders need one: its public id (read without loading the row)."""

    public_id: uuid.UUID


def member_recipients(group: StudyGroup, exclude: Learner | None = None, delivery: str = Membership.EACH,
                      members: list[Member] | None = None, links: bool = True):
    """One outbox Recipient per active member who takes each post (or the digest), its ref the
    member's public id. `links`: with the member's leave link in its context; without, for a
    message whose copies make it from their ref when sent (LEAVE_LINKS)."""
    from mmooc.mailer.outbox import Recipient

    if members is None:
        members = group_members(group)
    ours = "@" + settings.LIST_DOMAIN.lower()  # no group address may get a group's mail
    skip = None if exclude is None else exclude.pk
    return [Recipient(m.email, {UNSUBSCRIBE_VAR: _leave_group_url(m.public_id, settings.BASE_URL)} if links else {},
                      ref=str(m.public_id))
            for m in members
            if m.delivery == delivery and m.learner_id != skip and not m.email_key.lower().endswith(ours)]


@lru_cache(maxsize=20_000)
def _leave_group_url(public_id: uuid.UUID, base_url: str) -> str:
    """A member's one-click "leave the group" link. These links never expire, so one made for
    an earlier post serves again: signing 40 of them for every post costs more than the relay.
    The site's address is part of the key: a link made for another address is not reused."""
    from mmooc.learners.links import unsubscribe_url

    return unsubscribe_url(LearnerRef(public_id), scope="group")


# A relayed post's copies get their leave link when each is sent, made from its ref (the
# member's public id), as a course email's copies get theirs (mmooc.mailer.refvalues): a row
# then keeps no context, about 130 bytes fewer in each of the three versions every copy is
# written as (queued, claimed, sent). Registered by the app (ListsConfig.ready).
LEAVE_LINKS = "group-leave"


def leave_links() -> Callable[[str], dict[str, str]]:
    """Each copy's leave link from its ref, for one batch (the links never expire)."""
    base_url = settings.BASE_URL
    return lambda ref: {UNSUBSCRIBE_VAR: _leave_group_url(uuid.UUID(ref), base_url)}


def thread_id_for(group: StudyGroup, post: checks.Inbound) -> str:
    """The thread's first Message-ID: by the stored posts it answers, else by its subject."""
    return threads.thread_for(group.pk, post.message_id, post.in_reply_to, post.references, post.subject)


# Notices to senders whose post was not relayed (MAIL_RULES 24).

NOTICE_REASONS = {
    Refusal.NON_MEMBER: "only members of {group} can write to its address. If you are a member, "
                        "write from the address you signed up with.",
    Refusal.TOO_BIG: "it is larger than the {limit} a group post may be. Share big files as a link instead.",
    Refusal.DEFECTIVE: "it could not be read: {detail}.",
}


def send_notice(group: StudyGroup, reason: str, to: str, subject: str, message_id: str, *,
                detail: str = "", now: datetime | None = None) -> bool:
    """Tell a sender why their post was not relayed: at most once a day per address."""
    answered = notices.answerable(to)
    if reason not in NOTICE_REASONS or answered is None:
        return False
    why = NOTICE_REASONS[reason].format(group=group.name, limit=max_post_mb(), detail=_plain(detail))
    body = (f"Your message \u201c{_plain(subject) or 'without a subject'}\u201d to {group.address} "
            f"was not sent to the group, because {why}\n\n"
            "This is an automatic reply; you will get at most one a day.")
    headers = {"Auto-Submitted": "auto-replied"}
    if message_id:
        headers.update({"In-Reply-To": message_id, "References": message_id})
    return notices.send_once_a_day(group, answered, subject=f"Your message to {group.name} was not sent",
                                   body=body, headers=headers, now=now)


def _plain(text: str) -> str:
    """Sender-supplied words shown in a notice: no Markdown, HTML or placeholders, one line."""
    return re.sub(r"[^\w .,!?'’:;/-]", "", checks.clean_text(text))[:120].strip()


def _headers_only(raw: bytes) -> Message | None:
    """The header fields of a refused message, unparsed (compat32): enough to describe it."""
    try:
        return BytesParser(policy=policy.compat32).parsebytes(raw[:256 * 1024], headersonly=True)
    except Exception:  # only used to describe a message already refused
        return None


def _described(headers: Message | None) -> tuple[str, str, str]:
    """(sender, subject, Message-ID) of a refused message, each "" when unreadable."""
    if headers is None:
        return "", "", ""
    def text(name: str) -> str:
        return checks.clean_text(str(headers.get(name, "")))
    return parseaddr(text("From"))[1].lower(), text("Subject"), checks.first_id(text("Message-ID"))


def _may_notify(headers: Message, envelope_sender: str | None) -> bool:
    """Never answer a bounce, an automatic reply or list mail (MAIL_RULES 24)."""
    try:
        sender, subject, _ = _described(headers)
        return not (checks.loop_reason(headers, settings.LIST_DOMAIN)
                    or checks.bounce_reason(headers, envelope_sender, sender)
                    or checks.auto_reply_reason(headers, subject)
                    or "List-Id" in headers)
    except Exception:  # unreadable headers: stay silent
        return False


# The mailer's side of inbound mail: bounces to our return paths, unsubscribes by mail.

def _handle_bounce(raw: bytes, recipient: str, *, strict: bool = True) -> None:
    """Hand a report to the mailer; `strict` lets its errors through (451: the server retries)."""
    if strict:
        bounces.handle_bounce(raw, recipient)
        return
    try:
        bounces.handle_bounce(raw, recipient)
    except Exception:  # a report we cannot use must not make the sending server retry for days
        log.exception("lists: the bounce handler failed on a report for %s", recipient)
