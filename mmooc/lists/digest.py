"""Daily digests for members who chose one instead of each post.

    send_digests(now=None) -> int     run by `mmooc lists digest` (daily, e.g. from cron)

Each group with digest members gets at most one digest per day, covering its posts since
the previous digest up to the start of the day (UTC); a Digest row per group and day makes
a second run the same day do nothing. The digest is one outbox message per group, sent
to each digest member with their own unsubscribe and archive links, and each post's time on
their own clock (in their time zone).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner
from mmooc.lib import clock
from mmooc.lib.languages import content_language, speaking
from mmooc.lists.links import archive_url, list_info
from mmooc.lists.models import Digest, Post
from mmooc.lists.relay import LearnerRef, member_recipients

MAX_POST_CHARS = 2000
TIME_VAR = "post_time."  # a post's time in a member's zone: post_time.1, post_time.2, …


def send_digests(now: datetime | None = None) -> int:
    """Queue today's digests; returns how many groups got one (groups without new posts get none)."""
    now = now or timezone.now()
    until = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    day = until.date() - timedelta(days=1)
    sent = 0
    for group in groups_with_digest_members():
        sent += send_group_digest(group, day, until)
    return sent


def groups_with_digest_members() -> QuerySet[StudyGroup]:
    members = Membership.objects.active().filter(delivery=Membership.DIGEST)
    return (StudyGroup.objects.filter(pk__in=members.values("group"))
            .select_related("cohort__course").order_by("pk"))


def send_group_digest(group: StudyGroup, day: date, until: datetime) -> bool:
    """The digest of `group` for `day`, once; False when already done or there was nothing new."""
    if Digest.objects.filter(group=group, day=day).exists():
        return False
    last = Digest.objects.filter(group=group).order_by("-until").first()
    since = last.until if last else until - timedelta(days=1)
    posts = list(Post.objects.visible().filter(group=group, received_at__gte=since, received_at__lt=until)
                 .order_by("received_at", "id"))
    try:
        with transaction.atomic():
            digest = Digest.objects.create(group=group, day=day, since=since, until=until,
                                           post_count=len(posts))
            if posts:
                digest.message = _queue(group, day, posts)
                digest.save(update_fields=["message"])
    except IntegrityError:
        return False  # another run made it first
    return bool(posts)


def _queue(group: StudyGroup, day: date, posts: list[Post]):
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message

    info = list_info(group)
    course = group.cohort.course
    n = len(posts)
    with speaking(group.language):
        # Translators: a Django date format for a day of the month, e.g. "November 2".
        when = dateformat.format(day, pgettext("date format", "F j"))
        subject = ngettext("%(group)s digest for %(day)s: %(n)d post", "%(group)s digest for %(day)s: %(n)d posts",
                           n) % {"group": group.name, "day": when, "n": n}
        body = digest_body(group, posts)
        headers = content_language()
    message = outbox.compose(
        kind=Message.SUBSCRIBED, subject=subject,
        body=body, scope=Cohort.scope_for(group.cohort_id), tag="digest",
        reply_to=f"{group.name} <{info.address}>", list_id=info.list_id, list_name=info.name,
        footer=" · ".join(p for p in (course.organizer_name, course.postal_line) if p), headers=headers)
    recipients = member_recipients(group, delivery=Membership.DIGEST)
    zones = dict(Learner.objects.filter(public_id__in=[uuid.UUID(r.ref) for r in recipients])
                 .values_list("public_id", "timezone"))

    def zone_of(recipient: Any) -> str:
        return zones.get(uuid.UUID(recipient.ref)) or "UTC"

    with speaking(group.language):  # worked out once per zone
        times = {zone: post_times(posts, zone) for zone in {zone_of(r) for r in recipients}}
    outbox.enqueue(message, [_with_archive(r, group, times[zone_of(r)]) for r in recipients])
    return message


def post_times(posts: list[Post], zone: str) -> dict[str, str]:
    """Each post's time on the clock of a member's zone, as their copy shows it."""
    return {f"{TIME_VAR}{i}": clock.moment(post.received_at, zone) for i, post in enumerate(posts, 1)}


def _with_archive(recipient, group: StudyGroup, times: dict[str, str]):
    from mmooc.mailer.outbox import Recipient

    learner = LearnerRef(uuid.UUID(recipient.ref))
    context = {**recipient.context, **times, "archive_url": archive_url(group, learner)}
    return Recipient(recipient.address, context, ref=recipient.ref)


def digest_body(group: StudyGroup, posts: list[Post]) -> str:
    """Markdown: each post quoted under its author, subject and time; members' words never as markup."""
    parts = [_("Yesterday's posts to %(group)s (%(address)s). Reply to this email to write to the "
               "group, or [read the whole archive]({{ archive_url }}).") % {"group": group.name,
                                                                           "address": group.address}]
    for i, post in enumerate(posts, 1):
        text = post.text.strip()
        if len(text) > MAX_POST_CHARS:
            text = text[:MAX_POST_CHARS].rstrip() + " …"
        # The time is filled in for each member, on their own clock.
        when = "{{ " + TIME_VAR + str(i) + " }}"
        parts.append(f"**{_inline(post.author_name or _('A member'))}**, {when}: "
                     f"{_inline(post.subject or _('(no subject)'))}\n\n{_quoted(text)}")
    return "\n\n---\n\n".join(parts)


def _inline(text: str) -> str:
    """A name or subject inside Markdown: punctuation that Markdown or placeholders use, escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+!|~" else c for c in text)


def _quoted(text: str) -> str:
    """A member's text as a Markdown quote; `{{` broken so no placeholder is ever filled in it.

    Any HTML in it is cleaned by the mail renderer's sanitizer like the rest of the body."""
    lines = text.replace("{{", "{ {").replace("}}", "} }").splitlines() or [""]
    return "\n".join("> " + line for line in lines)
