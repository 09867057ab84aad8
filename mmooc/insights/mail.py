"""The one email each member affected by a merge or a re-seeding gets.

Three kinds, by what changed for them: their group joined another (MOVED), learners joined
their group (STAYING), they were waiting and now have a group (JOINED). Each says who is in
the group now and its address, and links to the page where one click keeps them out of a
study group (the group unsubscribe link, which means "leave my study group").
"""

from __future__ import annotations

from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup
from mmooc.groups.welcome import Contexts, Member, footer, members_of, safe_text, zone_label
from mmooc.learners.models import Learner
from mmooc.lists.links import archive_url
from mmooc.mailer import outbox
from mmooc.mailer.models import Message

MOVED_SUBJECT = "Your study group is joining {group}"
MOVED_BODY = """Hello{{{{ greeting }}}},

Your study group, {old}, has been quiet lately, so it is joining **{group}**, a group of
*{course}* learners in nearby time zones. You are now in {group}, with {size} learners.

**Who is in the group**

{members}

Write to [{address}](mailto:{address}): your message goes to everyone in the group. The
address of {old} no longer takes posts, but its archive stays yours to read:
[the {old} archive]({{{{ old_archive_url }}}}).

If you would rather study on your own, [this page]({{{{ unsubscribe_url }}}}) takes you out of the
study group with one click.
"""

STAYING_SUBJECT = "New members in {group}"
STAYING_BODY = """Hello{{{{ greeting }}}},

{group} has been quiet lately, so {count} more *{course}* learners in nearby time zones are
joining it. The group now has {size} learners.

**Who is in the group**

{members}

The address stays the same: [{address}](mailto:{address}). Why not say hello to the
newcomers?

If you would rather study on your own, [this page]({{{{ unsubscribe_url }}}}) takes you out of the
study group with one click.
"""

JOINED_SUBJECT = "You are now in {group} of {course}"
JOINED_BODY = """Hello{{{{ greeting }}}},

You were waiting for a study group of *{course}*: there is now a place for you in **{group}**,
a group of learners in nearby time zones. It has {size} learners.

**Who is in the group**

{members}

Write to [{address}](mailto:{address}) to say hello: your message goes to everyone in the
group, and replies go to everyone too.

If you would rather study on your own, [this page]({{{{ unsubscribe_url }}}}) takes you out of the
study group with one click.
"""


def _lines(members: list[Member]) -> str:
    return "\n".join(f"- {safe_text(m.first_name) or 'A learner'} ({zone_label(m.timezone)})" for m in members)


def _message(group: StudyGroup, subject: str, body: str, tag: str) -> Message:
    course = group.cohort.course
    return outbox.compose(kind=Message.SUBSCRIBED, subject=subject, body=body, scope=Cohort.scope_for(group.cohort_id),
                          tag=tag, reply_to=group.address, list_id=group.list_id, list_name=group.name,
                          footer=footer(course))


def tell(group: StudyGroup, staying: list[Learner], moved: list[tuple[StudyGroup, list[Learner]]],
         joiners: list[Learner]) -> int:
    """Queue the emails of a merge or re-seeding into `group`; returns the deliveries queued."""
    course = group.cohort.course
    people = members_of([group])[group.pk]
    common = {"group": group.name, "course": safe_text(course.title), "size": len(people),
              "members": _lines(people), "address": group.address}
    contexts = Contexts()
    queued = 0
    newcomers = sum(len(learners) for _, learners in moved) + len(joiners)
    if staying and newcomers:
        message = _message(group, STAYING_SUBJECT.format(**common),
                           STAYING_BODY.format(count=newcomers, **common), "group-merged")
        queued += outbox.enqueue(message, [_recipient(contexts, learner) for learner in staying])
    for old, learners in moved:
        message = _message(group, MOVED_SUBJECT.format(**common), MOVED_BODY.format(old=old.name, **common),
                           "group-merged")
        queued += outbox.enqueue(message, [_recipient(contexts, learner, old) for learner in learners])
    if joiners:
        message = _message(group, JOINED_SUBJECT.format(**common), JOINED_BODY.format(**common), "group-joined")
        queued += outbox.enqueue(message, [_recipient(contexts, learner) for learner in joiners])
    return queued


def _recipient(contexts: Contexts, learner: Learner, old: StudyGroup | None = None) -> outbox.Recipient:
    ctx = contexts(learner.public_id, learner.name)
    if old is not None:
        ctx["old_archive_url"] = archive_url(old, learner)
    return outbox.Recipient(learner.email, ctx, ref=str(learner.public_id))


