"""The one email each member affected by a merge or a re-seeding gets.

Three kinds, by what changed for them: their group joined another (MOVED), learners joined
their group (STAYING), they were waiting and now have a group (JOINED). Each says who is in
the group now and its address, and links to the page where one click keeps them out of a
study group (the group unsubscribe link, which means "leave my study group").
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import translation
from django.utils.translation import gettext as _

from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup
from mmooc.groups.welcome import Contexts, Member, footer, members_of, safe_text, zone_label
from mmooc.learners.models import Learner
from mmooc.lib.languages import content_language, speaking, ui_language
from mmooc.lists.links import archive_url
from mmooc.mailer import outbox
from mmooc.mailer.models import Message


def moved_texts() -> tuple[str, str]:
    """Their group joined another: subject and body in the active language (str.format fields, then placeholders)."""
    return (_("Your study group is joining {group}"),
            _("""Hello{{{{ greeting }}}},

Your study group, {old}, has been quiet lately, so it is joining **{group}**, a group of
*{course}* learners in nearby time zones. You are now in {group}, with {size} learners.

**Who is in the group**

{members}

Write to [{address}](mailto:{address}): your message goes to everyone in the group. The
address of {old} no longer takes posts, but its archive stays yours to read:
[the {old} archive]({{{{ old_archive_url }}}}).

If you would rather study on your own, [this page]({{{{ unsubscribe_url }}}}) takes you out of the
study group with one click.
"""))


def staying_texts() -> tuple[str, str]:
    """Learners joined their group."""
    return (_("New members in {group}"),
            _("""Hello{{{{ greeting }}}},

{group} has been quiet lately, so {count} more *{course}* learners in nearby time zones are
joining it. The group now has {size} learners.

**Who is in the group**

{members}

The address stays the same: [{address}](mailto:{address}). Why not say hello to the
newcomers?

If you would rather study on your own, [this page]({{{{ unsubscribe_url }}}}) takes you out of the
study group with one click.
"""))


def joined_texts() -> tuple[str, str]:
    """They were waiting and now have a group."""
    return (_("You are now in {group} of {course}"),
            _("""Hello{{{{ greeting }}}},

You were waiting for a study group of *{course}*: there is now a place for you in **{group}**,
a group of learners in nearby time zones. It has {size} learners.

**Who is in the group**

{members}

Write to [{address}](mailto:{address}) to say hello: your message goes to everyone in the
group, and replies go to everyone too.

If you would rather study on your own, [this page]({{{{ unsubscribe_url }}}}) takes you out of the
study group with one click.
"""))


with translation.override(None):
    MOVED_SUBJECT, MOVED_BODY = moved_texts()
    STAYING_SUBJECT, STAYING_BODY = staying_texts()
    JOINED_SUBJECT, JOINED_BODY = joined_texts()


def _lines(members: list[Member]) -> str:
    return "\n".join(f"- {safe_text(m.first_name) or 'A learner'} ({zone_label(m.timezone)})" for m in members)


def _message(group: StudyGroup, subject: str, body: str, tag: str) -> Message:
    course = group.cohort.course
    return outbox.compose(kind=Message.SUBSCRIBED, subject=subject, body=body, scope=Cohort.scope_for(group.cohort_id),
                          tag=tag, reply_to=group.address, list_id=group.list_id, list_name=group.name,
                          footer=footer(course), headers=content_language())


def tell(group: StudyGroup, staying: list[Learner], moved: list[tuple[StudyGroup, list[Learner]]],
         joiners: list[Learner]) -> int:
    """Queue the emails of a merge or re-seeding into `group`; returns the deliveries queued.

    Each member reads theirs in their own language: one message per kind and language.
    """
    course = group.cohort.course
    people = members_of([group])[group.pk]
    common = {"group": group.name, "course": safe_text(course.title), "size": len(people),
              "address": group.address}
    contexts = Contexts()
    queued = 0
    newcomers = sum(len(learners) for _old, learners in moved) + len(joiners)

    def send(learners: list[Learner], texts: Callable[[], tuple[str, str]], tag: str,
             archive_of: StudyGroup | None = None, **fields: object) -> int:
        added = 0
        for language, some in _by_language(learners).items():
            with speaking(language):
                subject, body = texts()
                values = {**common, "members": _lines(people), **fields}
                message = _message(group, subject.format(**values), body.format(**values), tag)
            added += outbox.enqueue(message, [_recipient(contexts, learner, archive_of) for learner in some])
        return added

    if staying and newcomers:
        queued += send(staying, staying_texts, "group-merged", count=newcomers)
    for old, learners in moved:
        queued += send(learners, moved_texts, "group-merged", old, old=old.name)
    if joiners:
        queued += send(joiners, joined_texts, "group-joined")
    return queued


def _by_language(learners: list[Learner]) -> dict[str, list[Learner]]:
    """The learners by the translated language closest to theirs, in their order."""
    result: dict[str, list[Learner]] = {}
    for learner in learners:
        result.setdefault(ui_language(learner.language), []).append(learner)
    return result


def _recipient(contexts: Contexts, learner: Learner, old: StudyGroup | None = None) -> outbox.Recipient:
    ctx = contexts(learner.public_id, learner.name)
    if old is not None:
        ctx["old_archive_url"] = archive_url(old, learner)
    return outbox.Recipient(learner.email, ctx, ref=str(learner.public_id))


