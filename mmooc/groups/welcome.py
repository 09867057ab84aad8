"""The mail the groups app sends: a group's welcome, a late joiner's welcome.

Each group's welcome is one outbox message with one delivery per member: who is in the
group, how its list works, and the course's suggestions for a first message.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from django.db import connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mmooc.courses.models import Cohort, Course
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.lib.ahead import cycle_collection_paused
from mmooc.lib.languages import content_language, speaking
from mmooc.mailer import outbox
from mmooc.mailer.models import Message


def default_intro() -> str:
    return _("Say hello: who you are, where you are, why you took this course, and when in the "
             "week you plan to study. Then ask one question about this week's material.")


JOB = "groups.welcome"  # the periodic job that writes welcomes the staff page left to it
CHUNK = 500  # groups per members query
# Groups welcomed per transaction (about 10,000 deliveries at 40 a group): short enough not
# to hold SQLite's single writer for long, long enough that commits cost little.
WELCOME_BATCH = 250
# Characters that would turn a learner's name into Markdown, HTML or a placeholder.
UNSAFE = re.compile(r"[\\`*_{}\[\]<>()#+!|~]")

def welcome_texts() -> tuple[str, str]:
    """A group welcome's subject and body in the active language (str.format fields, then placeholders)."""
    return (_("Welcome to {group} of {course}"),
            _("""Hello{{{{ greeting }}}},

You are now in **{group}**, a study group of {size} learners of *{course}* in nearby time zones.{language}

**Who is in the group**

{members}

**How the group works**

- Write to [{address}](mailto:{address}): your message goes to everyone in the group.
- Replies go to the whole group too, so everyone can follow the conversation.
- Every message is kept in the group's archive, linked from [your page]({{{{ learner.page_url }}}}).
- Be kind and patient: people write from different places, at different times of day.
- To leave the group, use the link at the bottom of any group message.

**Ideas for a first message**

{intro}
"""))


def joined_texts() -> tuple[str, str]:
    """A late joiner's welcome, subject and body, in the active language."""
    return (_("You are now in {group} of {course}"),
            _("""Hello{{{{ greeting }}}},

You joined *{course}* after the study groups were formed, so we found you a place in
**{group}**, the group nearest to your time zone with room: {size} learners so far.

Write to [{address}](mailto:{address}) to say hello: your message goes to everyone in the
group, and replies go to everyone too. The group's archive is linked from
[your page]({{{{ learner.page_url }}}}).

**Ideas for a first message**

{intro}
"""))


with translation.override(None):
    DEFAULT_INTRO = default_intro()
    WELCOME_SUBJECT, WELCOME_BODY = welcome_texts()
    JOINED_SUBJECT, JOINED_BODY = joined_texts()


def group_language(group: StudyGroup, people: list[Member]) -> str:
    """The language a group's own mail is written in: the group's, or its members' most common."""
    if group.language:
        return group.language
    counts = Counter(m.language for m in people if m.language)
    return counts.most_common(1)[0][0] if counts else ""


class Member(NamedTuple):
    """What a group's welcome needs of one member (a tuple: a million are made for a large cohort)."""

    learner_id: int
    email: str
    name: str
    timezone: str
    public_id: UUID
    language: str = ""

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


def safe_text(text: str) -> str:
    """A learner-written name made inert inside a Markdown body."""
    return UNSAFE.sub("", text).strip()


def zone_label(zone: str) -> str:
    return zone.replace("_", " ")


def footer(course: Course) -> str:
    parts = [course.organizer_name, course.organizer_email, course.postal_line]
    return " · ".join(p for p in parts if p)


class Contexts:
    """Per-recipient values, as `learner_context` gives them, for many learners read with values().

    Group mail's unsubscribe link means "leave my study group" (MAIL_RULES 7). Signing keys and
    the tokens' timestamp are worked out when it is made: make one per batch of mail.
    """

    def __init__(self) -> None:
        self._make = links.context_maker("group")

    def __call__(self, public_id: UUID, name: str) -> dict[str, str]:
        ctx = self._make(public_id, name)
        first = ctx["learner.first_name"]
        ctx["greeting"] = f" {first}" if first else ""
        return ctx


def group_context(learner: Learner) -> dict[str, str]:
    """One learner's values for group mail."""
    ctx = dict(links.learner_context(learner))
    ctx["unsubscribe_url"] = links.unsubscribe_url(learner, "group")
    ctx["greeting"] = f" {learner.first_name}" if learner.first_name else ""
    return ctx


def members_of(groups: list[StudyGroup], by_learner: bool = False) -> dict[int, list[Member]]:
    """Active members of each group, in joining order (or by learner id), a few hundred groups per query."""
    result: dict[int, list[Member]] = defaultdict(list)
    for i in range(0, len(groups), CHUNK):
        rows = (Membership.objects.active().filter(group_id__in=[g.pk for g in groups[i:i + CHUNK]])
                .order_by("group_id", "learner_id" if by_learner else "id")
                .values_list("group_id", "learner_id", "learner__email", "learner__name", "learner__timezone",
                             "learner__public_id", "learner__language"))
        # A few thousand rows, fetched whole: a server-side cursor would cost round trips.
        for group_id, *fields in rows:
            result[group_id].append(Member._make(fields))
    return result


def _member_lines(members: list[Member]) -> str:
    return "\n".join(f"- {safe_text(m.first_name) or _('A learner')} ({zone_label(m.timezone)})" for m in members)


def _language_line(group: StudyGroup, people: list[Member]) -> str:
    """Said only of a group whose members do prefer different languages."""
    languages = {m.language for m in people if m.language}
    return " " + _("Members write in several languages.") if group.pooled and len(languages) > 1 else ""


def _message_fields(group: StudyGroup, course: Course, subject: str, body: str, tag: str) -> dict[str, Any]:
    return {"kind": Message.SUBSCRIBED, "subject": subject, "body": body, "scope": Cohort.scope_for(group.cohort_id),
            "tag": tag, "reply_to": group.address, "list_id": group.list_id, "list_name": group.name,
            "footer": footer(course), "headers": content_language()}


def _compose(group: StudyGroup, course: Course, subject: str, body: str, tag: str) -> Message:
    return outbox.compose(**_message_fields(group, course, subject, body, tag))


def send_welcomes(cohort: Cohort, groups: list[StudyGroup], progress: Callable[[int, int], None] | None = None,
                  members: dict[int, list[Member]] | None = None, by_learner: bool = False) -> int:
    """One welcome message per group, to each of its members; returns the deliveries queued.

    Groups are handled WELCOME_BATCH at a time, each batch in its own transaction that also
    marks them welcomed, so an interruption leaves the rest for send_pending_welcomes.
    `members` (group id → members) saves reading them again when the caller has them; else
    they are read a batch at a time, listed in joining order, or by learner id with `by_learner`.
    """
    queued = 0
    batches = [groups[start:start + WELCOME_BATCH] for start in range(0, len(groups), WELCOME_BATCH)]
    # PostgreSQL, called outside a transaction (apply once it has committed, the periodic job):
    # the helper thread reads each batch's members too, on a connection of its own, while this
    # one writes the batch before. At a million members the reads took a quarter of the
    # welcomes' time, one after the other with the writes. Inside a caller's transaction the
    # members are read here: another connection would not see what the caller has written.
    reads_ahead = members is None and connection.vendor == "postgresql" and not connection.in_atomic_block
    # Cyclic garbage collection paused, as for a course email's copies (lib/ahead.py).
    with cycle_collection_paused(), ThreadPoolExecutor(max_workers=1) as writer:
        try:
            # Each batch's texts and recipients are prepared while the database writes the batch
            # before (its driver lets other threads run while it waits), not after it: at a
            # million deliveries the two take about as long.
            ahead = _prepare_later(writer, cohort, batches, 0, members, by_learner, reads_ahead)
            for i, batch in enumerate(batches):
                prepared = ahead.result()
                with transaction.atomic():
                    pending = set(StudyGroup.objects.select_for_update().filter(
                        pk__in=[g.pk for g in batch], welcomed_at__isnull=True).values_list("pk", flat=True))
                    # The next batch's members are read now (here, inside this transaction, unless
                    # the helper reads them), so that its preparing overlaps this batch's writes.
                    ahead = _prepare_later(writer, cohort, batches, i + 1, members, by_learner, reads_ahead)
                    queued += _welcome([w for w in prepared if w.group.pk in pending])
                    StudyGroup.objects.filter(pk__in=pending).update(welcomed_at=timezone.now())
                if progress is not None:
                    start = i * WELCOME_BATCH
                    for done in range(start + 1, start + len(batch) + 1):
                        progress(done, len(groups))
        finally:
            if reads_ahead:
                writer.submit(connections.close_all)  # the helper's own connection, after its last read
    return queued


def _prepare_later(writer: ThreadPoolExecutor, cohort: Cohort, batches: list[list[StudyGroup]], i: int,
                   members: dict[int, list[Member]] | None, by_learner: bool,
                   reads_ahead: bool) -> Future[list[Welcome]]:
    """Batch i's welcomes, prepared by `writer`, its members read now, here, or by `writer`
    too with `reads_ahead`; none past the last batch."""
    if i >= len(batches):
        done: Future[list[Welcome]] = Future()
        done.set_result([])
        return done
    if reads_ahead:
        return writer.submit(_read_and_prepare, cohort.course, batches[i], by_learner, translation.get_language())
    people = members if members is not None else members_of(batches[i], by_learner)
    return writer.submit(_prepare, cohort.course, batches[i], people, Contexts(), translation.get_language())


def _read_and_prepare(course: Course, groups: list[StudyGroup], by_learner: bool,
                      language: str | None) -> list[Welcome]:
    """`_prepare` of the groups' members, read here (in the helper thread, on its connection)."""
    return _prepare(course, groups, members_of(groups, by_learner), Contexts(), language)


def send_pending_welcomes(cohort: Cohort, progress: Callable[[int, int], None] | None = None) -> int:
    """Queue the welcome emails of the cohort's groups still waiting for one."""
    groups = list(StudyGroup.objects.filter(cohort=cohort, welcomed_at__isnull=True).order_by("number"))
    return send_welcomes(cohort, groups, progress=progress) if groups else 0


def queue_pending() -> int:
    """Queue every waiting welcome email, in every cohort; returns the deliveries queued.

    The periodic job JOB, run every few seconds by `mmooc serve` and `mmooc worker`: the
    staff page applies a grouping and answers once the groups are written; this writes their
    welcome emails into the outbox just after. Several processes may run it at once: each
    batch of groups is claimed in its transaction, so a group is welcomed once.
    """
    cohorts = Cohort.objects.filter(pk__in=StudyGroup.objects.filter(welcomed_at__isnull=True)
                                    .values("cohort_id")).select_related("course")
    return sum(send_pending_welcomes(cohort) for cohort in cohorts)


def pending_count(cohort: Cohort) -> int:
    """Groups of the cohort whose welcome email is not queued yet."""
    return StudyGroup.objects.filter(cohort=cohort, welcomed_at__isnull=True).count()


@dataclass(frozen=True)
class Welcome:
    """One group's welcome, ready to be written: the message's fields and its recipients."""

    group: StudyGroup
    message: dict[str, Any]
    recipients: list[outbox.Recipient]


def _prepare(course: Course, groups: list[StudyGroup], people: dict[int, list[Member]], contexts: Contexts,
             language: str | None) -> list[Welcome]:
    """The groups' welcomes, from what was read before (nothing is read here: this runs in
    the helper thread); `language` is the caller's active one (a thread starts with none)."""
    with translation.override(language):
        return [Welcome(g, _welcome_message(course, g, people.get(g.pk, [])),
                    [outbox.Recipient(m.email, contexts(m.public_id, m.name), ref=str(m.public_id))
                     for m in people.get(g.pk, [])])
                for g in groups]


def _welcome(welcomes: list[Welcome]) -> int:
    """Some groups' welcome messages in one insert, and all their deliveries in another."""
    if not welcomes:
        return 0
    messages = outbox.compose_many(w.message for w in welcomes)
    return outbox.enqueue_many(zip(messages, (w.recipients for w in welcomes), strict=True))


def _welcome_message(course: Course, group: StudyGroup, people: list[Member]) -> dict[str, Any]:
    with speaking(group_language(group, people)):
        subject, body = welcome_texts()
        body = body.format(group=group.name, size=len(people), course=safe_text(course.title),
                           language=_language_line(group, people), members=_member_lines(people),
                           address=group.address, intro=course.group_intro.strip() or default_intro())
        return _message_fields(group, course, subject.format(group=group.name, course=course.title), body,
                               "group-welcome")


def send_joined(learner: Learner, group: StudyGroup, size: int) -> None:
    """Tell a late joiner which group they are in."""
    course = learner.cohort.course
    with speaking(learner.language):
        subject, body = joined_texts()
        body = body.format(course=safe_text(course.title), group=group.name, size=size,
                           address=group.address, intro=course.group_intro.strip() or default_intro())
        message = _compose(group, course, subject.format(group=group.name, course=course.title), body,
                           "group-joined")
    outbox.enqueue(message, [outbox.Recipient(learner.email, group_context(learner), ref=str(learner.public_id))])
