"""The moderation queue: the posts held across a cohort's groups, and what staff decide about them.

    held_posts(groups) -> QuerySet[Post]           held posts of those groups, oldest first
    kind_of(post) -> SPAM | UNKNOWN | FIRST_POST | TOO_BIG | MUTED   why it waits, as the queue groups reasons
    approve(post, actor, release=False) -> bool    relay it now (the relay's own copies); once
    reject(post, actor, note="") -> bool           delete it, optionally telling the sender why; once
    set_hold_first_post(cohort, on, actor)         the cohort's "hold a new member's first post"
    send_held_notes(now=None) -> int               the daily note to the staff of groups with held posts
    send_held_notice(group, author, to, post, reason, size)   a too-big or muted member's post waits: tell them

A decision is a conditional write on `held=True`, so a double click, two staff members at
once or a bulk action over a post someone just decided does it once. Every decision is in
the audit log.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mmooc.audit.log import record
from mmooc.courses.models import Cohort
from mmooc.groups.access import facilitators_of, groups_for
from mmooc.groups.models import StudyGroup
from mmooc.groups.welcome import group_language, members_of
from mmooc.learners.models import Learner, email_key
from mmooc.lib.languages import content_language, speaking
from mmooc.lib.staff import ORGANIZER
from mmooc.lists import notices, relay
from mmooc.lists.aliases import HOLD_DAYS, UNKNOWN_SENDER
from mmooc.lists.inbound import Inbound
from mmooc.lists.models import HeldNote, Moderation, Post, Refusal

log = logging.getLogger("mmooc.lists")

SPAM, UNKNOWN, FIRST_POST, TOO_BIG, MUTED = "spam", "unknown-sender", "first-post", "too-big", "muted"
KINDS = {SPAM: gettext_lazy("Judged spam by the provider"), UNKNOWN: gettext_lazy("Sender not yet known"),
         FIRST_POST: gettext_lazy("First post of a new member"), TOO_BIG: gettext_lazy("Too big"),
         MUTED: gettext_lazy("Muted member")}
# How the daily note (in English, the staff's language) counts each kind.
NOTE_KINDS = {SPAM: "judged spam", UNKNOWN: "unknown sender", FIRST_POST: "first post", TOO_BIG: "too big",
              MUTED: "muted member"}
MAX_NOTE = 2000  # characters of a staff note to a sender
_BY_REASON = {UNKNOWN_SENDER: UNKNOWN, relay.FIRST_POST: FIRST_POST, relay.TOO_BIG: TOO_BIG,
              relay.MUTED_MEMBER: MUTED}


def kind_of(post: Post) -> str:
    return kind_of_reason(post.held_reason)


def kind_of_reason(held_reason: str) -> str:
    # Any other hold is the provider's verdict (lists.receivers.spam_reason).
    return _BY_REASON.get(held_reason, SPAM)


def held_posts(groups: QuerySet[StudyGroup]) -> QuerySet[Post]:
    return (Post.objects.filter(held=True, group__in=groups).select_related("group", "author")
            .defer("raw").order_by("received_at", "id"))


def queue_url(cohort: Cohort) -> str:
    return reverse("moderation:queue", kwargs={"cohort": cohort.slug})


def held_count(cohort: Cohort, user: object) -> int:
    """How many posts wait in the cohort's queue, of the groups `user` looks after."""
    return Post.objects.filter(held=True, group__in=groups_for(user, cohort)).count()


def senders(posts: Iterable[Post]) -> dict[int, str]:
    """The address each post came from, as staff may see it: the member's, or for a post from an
    unknown address the one its refusal row recorded (read without loading the messages)."""
    posts = list(posts)
    found = {p.pk: p.author.email for p in posts if p.author is not None}
    unknown = [p for p in posts if p.author is None]
    if unknown:
        rows = (Refusal.objects.filter(group_id__in={p.group_id for p in unknown},
                                       message_id__in=[p.message_id for p in unknown], reason=Refusal.NON_MEMBER)
                .values_list("group_id", "message_id", "sender"))
        by_id = {(g, m): s for g, m, s in rows}
        found.update({p.pk: by_id.get((p.group_id, p.message_id), "") for p in unknown})
    return found


def _summary(post: Post, verb: str) -> str:
    return (f"{verb} “{post.subject[:80]}” by {post.author_name or 'an unknown sender'} in {post.group.name} "
            f"(held: {NOTE_KINDS[kind_of(post)]})")


def approve(post: Post, actor: object, *, release: bool = False, **details: object) -> bool:
    """Relay a held post to its group now; False (nothing done) when it is no longer held.

    `release` is "release from spam": the same as approving, for a post the provider judged
    spam. Nothing is remembered about the sender: their next post the provider judges spam is
    held again (the provider's verdict is per message)."""
    reason = post.held_reason
    with transaction.atomic():
        if not relay.relay_held(post):
            return False
        action = "post.released" if release else "post.approved"
        record(actor, action, post, _summary(post, "Released from spam" if release else "Approved"),
               group=post.group.address, message_id=post.message_id, held_reason=reason,
               kind=kind_of_reason(reason), size=post.size, **details)
    return True


def reject(post: Post, actor: object, note: str = "", *, told: set[str] | None = None, **details: object) -> bool:
    """Delete a held post; with a note, tell its sender (at most once per address in `told`,
    a bulk rejection's set, which gets each address told). False (nothing done) when it is no
    longer held."""
    raw = bytes(Post.objects.filter(pk=post.pk).values_list("raw", flat=True).first() or b"")
    address = _sender_address(post, raw)
    with transaction.atomic():
        deleted, _rows = Post.objects.filter(pk=post.pk, held=True).delete()
        if not deleted:
            return False
        notified = False
        note = note.strip()[:MAX_NOTE]
        if note and (told is None or email_key(address) not in told):
            notified = send_rejection(post, raw, address, note)
            if notified and told is not None:
                told.add(email_key(address))
        record(actor, "post.rejected", post, _summary(post, "Rejected"), group=post.group.address,
               message_id=post.message_id, held_reason=post.held_reason, kind=kind_of(post), size=post.size,
               sender=address, note=note, sender_told=notified, **details)
    return True


def _sender_address(post: Post, raw: bytes) -> str:
    if post.author is not None:
        return post.author.email
    return relay._described(relay._headers_only(raw))[0]


def rejection_texts() -> tuple[str, str, str]:
    """The note to a sender whose held post was declined, in the active language: subject, body, and
    the line before the course team's own words."""
    return (_("Your message to {{ group_name }} was not sent"),
            _("Your message “{{ subject }}” to {{ group_address }} was not sent to the group: the course "
              "team reviewed it and declined it."),
            _("Their note:"))


def send_rejection(post: Post, raw: bytes, to: str, note: str) -> bool:
    """The course team's note to the sender of a declined post, never to a list (MAIL_RULES 55):
    not to an address of ours, not in answer to list mail, a bounce or an automatic reply."""
    from mmooc.mailer import outbox

    headers_in = relay._headers_only(raw)
    if ("@" not in to or to.lower().endswith("@" + settings.LIST_DOMAIN.lower()) or headers_in is None
            or not relay._may_notify(headers_in, None)):
        return False
    group = post.group
    language = post.author.language if post.author is not None else group_language(group, members_of([group])[group.pk])
    with speaking(language):
        subject, intro, said = rejection_texts()
        context = {"group_name": group.name, "group_address": group.address,
                   "subject": relay._plain(post.subject) or _("(no subject)")}
        headers = {"Auto-Submitted": "auto-replied", "In-Reply-To": post.message_id,
                   "References": post.message_id, **content_language()}
    body = f"{intro}\n\n{said}\n\n{_quoted(note)}"
    try:
        outbox.send(to=to, subject=subject, body=body, context=context, scope=Cohort.scope_for(group.cohort_id),
                    tag="list-rejection", headers=headers,
                    ref=str(post.author.public_id) if post.author is not None else "")
    except outbox.OutboxError as exc:
        log.info("lists: no rejection note to %s: %s", to, exc)
        return False
    return True


def held_texts(reason: str) -> tuple[str, str]:
    """The notice to a member whose post waits (too big, or they are muted): subject and body,
    in the active language."""
    subject = _("Your message to {{ group_name }} is waiting for the course team")
    if reason == relay.MUTED_MEMBER:
        body = _("Your message “{{ subject }}” to {{ group_address }} has not been sent to the group yet: "
                 "posting to {{ group_name }} is paused for your address, so the course team reviews your "
                 "messages first. It goes to the group if they approve it. Reply to this message to ask them "
                 "why.")
    else:
        body = _("Your message “{{ subject }}” to {{ group_address }} has not been sent to the group yet: at "
                 "{{ size }} it is larger than the {{ limit }} a group post may be, so the course team reviews "
                 "it first. It goes to the group as it is if they approve it. Next time, share big files as a "
                 "link instead.")
    return subject, body + "\n\n" + _("This is an automatic reply; you will get at most one a day.")


def send_held_notice(group: StudyGroup, author: Learner, to: str, post: Inbound, reason: str, size: int, *,
                     now: datetime | None = None) -> bool:
    """Tell a member their post waits for staff, in their language: at most one notice a day per
    address (the refusal notices' limit), never to an address of ours (MAIL_RULES 55). The relay
    calls this only for a person's post: bounces, automatic replies, list mail and what the
    provider judged spam are never held this way or never answered."""
    answered = notices.answerable(to)
    if answered is None:
        return False
    with speaking(author.language):
        subject, body = held_texts(reason)
        context = {"group_name": group.name, "group_address": group.address,
                   "subject": relay._plain(post.subject) or _("(no subject)"),
                   "size": _megabytes(size), "limit": relay.max_post_mb()}
        headers = {"Auto-Submitted": "auto-replied", "In-Reply-To": post.message_id, "References": post.message_id,
                   **content_language()}
    return notices.send_once_a_day(group, answered, subject=subject, body=body, headers=headers, context=context,
                                   ref=str(author.public_id), now=now)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _quoted(text: str) -> str:
    """Staff words as a Markdown quote; `{{` broken so that no placeholder is filled in them."""
    lines = text.replace("{{", "{ {").replace("}}", "} }").splitlines() or [""]
    return "\n".join("> " + line for line in lines)


def hold_first_post(cohort: Cohort) -> bool:
    return Moderation.objects.filter(cohort=cohort, hold_first_post=True).exists()


def set_hold_first_post(cohort: Cohort, on: bool, actor: object) -> bool:
    """Turn the option on or off; False when it already was so (nothing recorded)."""
    with transaction.atomic():
        settings_row, _created = Moderation.objects.select_for_update().get_or_create(cohort=cohort)
        if settings_row.hold_first_post == on:
            return False
        settings_row.hold_first_post = on
        settings_row.updated_at = timezone.now()
        settings_row.save(update_fields=["hold_first_post", "updated_at"])
        record(actor, "moderation.first_post_on" if on else "moderation.first_post_off", cohort,
               f"{'Holding' if on else 'No longer holding'} the first post of new members in "
               f"{cohort.title or cohort.slug}")
    return True


# The daily note ---------------------------------------------------------------------------


@dataclass
class _Held:
    """A group's held posts: how many, the oldest one's arrival, and how many of each kind."""

    n: int
    oldest: datetime
    kinds: dict[str, int]


@dataclass
class _Waiting:
    groups: list[tuple[StudyGroup, _Held]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(held.n for _g, held in self.groups)


def organizers() -> list[User]:
    return list(User.objects.filter(Q(is_superuser=True) | Q(groups__name=ORGANIZER), is_active=True)
                .exclude(email="").distinct().order_by("pk"))


def waiting_by_user() -> dict[User, _Waiting]:
    """Each staff member to tell, with the groups (and held posts) they look after: a group's
    facilitators, or the organizers when it has none."""
    rows = (Post.objects.filter(held=True).order_by().values("group_id", "held_reason")
            .annotate(n=Count("id"), oldest=Min("received_at")))
    counts: dict[int, _Held] = {}
    for r in rows:
        held = counts.setdefault(r["group_id"], _Held(0, r["oldest"], {}))
        kind = kind_of_reason(r["held_reason"])
        held.n += r["n"]
        held.oldest = min(held.oldest, r["oldest"])
        held.kinds[kind] = held.kinds.get(kind, 0) + r["n"]
    groups = StudyGroup.objects.filter(pk__in=list(counts)).select_related("cohort").order_by("cohort_id", "number")
    by_user: dict[User, _Waiting] = defaultdict(_Waiting)
    fallback: list[User] | None = None
    for group in groups:
        people = [u for u in facilitators_of(group) if u.is_active and u.email]
        if not people:
            fallback = organizers() if fallback is None else fallback
            people = fallback
        for user in people:
            by_user[user].groups.append((group, counts[group.pk]))
    return by_user


def send_held_notes(now: datetime | None = None) -> int:
    """Email each staff member the held posts of their groups, at most once a day (UTC); how many
    were told. Run by the periodic job `lists.held_note`."""
    now = now or timezone.now()
    day = now.date()
    told = 0
    from mmooc.mailer.outbox import OutboxError

    for user, waiting in waiting_by_user().items():
        if HeldNote.objects.filter(user=user, day=day).exists():
            continue
        try:
            with transaction.atomic():
                HeldNote.objects.create(user=user, day=day, post_count=waiting.count, created_at=now)
                _send_note(user, waiting)
        except IntegrityError:
            continue  # another process told them first
        except OutboxError as exc:  # their address is suppressed, say: the others are still told
            log.warning("lists: no note of held posts to %s: %s", user.get_username(), exc)
            continue
        told += 1
    return told


def _send_note(user: User, waiting: _Waiting) -> None:
    from mmooc.mailer import outbox

    lines = []
    by_cohort: dict[Cohort, list[tuple[StudyGroup, _Held]]] = defaultdict(list)
    for group, held in waiting.groups:
        by_cohort[group.cohort].append((group, held))
    for cohort, groups in by_cohort.items():
        url = settings.BASE_URL.rstrip("/") + queue_url(cohort)
        lines.append(f"**{cohort.title or cohort.slug}**: [the moderation queue]({url})\n")
        lines += [f"- {group.name}: {held.n} held {'post' if held.n == 1 else 'posts'} ({_kinds(held.kinds)}), "
                  f"the oldest received {held.oldest:%Y-%m-%d %H:%M} UTC" for group, held in groups]
        lines.append("")
    n = waiting.count
    body = ("These posts to your study groups are held until someone approves or rejects them.\n\n"
            + "\n".join(lines)
            + f"\nHeld posts from unknown addresses are deleted after {HOLD_DAYS} days if nobody claims them.")
    with translation.override(settings.LANGUAGE_CODE):
        outbox.send(to=user.email, subject=f"{n} held {'post waits' if n == 1 else 'posts wait'} for review",
                    body=body, tag="held-note")


def _kinds(kinds: dict[str, int]) -> str:
    """"too big: 2, muted member: 1", in the order of NOTE_KINDS."""
    return ", ".join(f"{NOTE_KINDS[k]}: {kinds[k]}" for k in NOTE_KINDS if kinds.get(k))
