"""What the apps below say happened, turned into events for the endpoints (connected in apps.py)."""

from __future__ import annotations

from typing import Any

from mmooc.courses.models import Cohort
from mmooc.emails.models import CourseEmail
from mmooc.emails.scheduling import progress_of
from mmooc.groups.models import Membership, StudyGroup
from mmooc.hooks import events
from mmooc.hooks.events import Happening, emit, emit_many
from mmooc.hooks.models import HookEvent
from mmooc.learners.models import Learner
from mmooc.lists.models import Post
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message


def cohort_data(cohort: Cohort) -> dict[str, str]:
    return {"slug": cohort.slug, "course": cohort.course.slug}


def learner_data(learner: Learner) -> dict[str, Any]:
    return {"id": str(learner.public_id), "email": learner.email, "name": learner.name,
            "timezone": learner.timezone, "language": learner.language, "state": learner.state,
            "wants_group": learner.wants_group}


def group_data(group: StudyGroup) -> dict[str, Any]:
    return {"id": str(group.public_id), "number": group.number, "name": group.name, "address": group.address}


def _learner_event(event_type: str, learner: Learner) -> None:
    cohort = learner.cohort
    emit(event_type, {"cohort": cohort_data(cohort), "learner": learner_data(learner)},
         cohort_id=cohort.pk, learner=str(learner.public_id))


def on_confirmed(sender: Any, learner: Learner, **kw: Any) -> None:
    _learner_event(events.LEARNER_CONFIRMED, learner)


def on_left(sender: Any, learner: Learner, **kw: Any) -> None:
    if learner.state == Learner.ERASED:
        return  # told as learner.erased, without name or address
    _learner_event(events.LEARNER_LEFT, learner)


def on_erased(sender: Any, learner: Learner, **kw: Any) -> None:
    """Inside the erasure's transaction: events kept about them lose their name and address."""
    public_id = str(learner.public_id)
    for event in HookEvent.objects.filter(learner=public_id):
        event.data = {"cohort": event.data.get("cohort"), "learner": {"id": public_id}, "erased": True}
        event.save(update_fields=["data"])
    cohort = learner.cohort
    emit(events.LEARNER_ERASED, {"cohort": cohort_data(cohort), "learner": {"id": public_id}},
         cohort_id=cohort.pk, learner=public_id)


GROUPS_PER_EMIT = 500  # groups whose members are read, and events written, at a time


def on_groups_formed(sender: Any, cohort: Cohort, groups: list[StudyGroup], **kw: Any) -> None:
    """One group.formed event per group with its members; nothing is read when no endpoint
    wants them (a million learners' memberships took seconds to read for nobody), and a
    large grouping is told GROUPS_PER_EMIT groups at a time, so memory stays the same."""
    if not events.wanted(events.GROUP_FORMED, cohort.pk):
        return
    data = cohort_data(cohort)
    for i in range(0, len(groups), GROUPS_PER_EMIT):
        chunk = groups[i:i + GROUPS_PER_EMIT]
        members: dict[int, list[str]] = {g.pk: [] for g in chunk}
        rows = (Membership.objects.active().filter(group__in=[g.pk for g in chunk])
                .values_list("group_id", "learner__public_id").order_by("group_id", "learner_id"))
        for group_id, public_id in rows.iterator(chunk_size=5000):
            members[group_id].append(str(public_id))
        emit_many(events.GROUP_FORMED, (
            Happening({"cohort": data, "group": group_data(g), "members": members[g.pk]}, cohort.pk) for g in chunk))


def on_member_placed(sender: Any, membership: Membership, **kw: Any) -> None:
    group, learner = membership.group, membership.learner
    emit(events.GROUP_JOINED, {"cohort": cohort_data(group.cohort), "group": group_data(group),
                               "learner": {"id": str(learner.public_id)}}, cohort_id=group.cohort_id)


def on_post_relayed(sender: Any, post: Post, **kw: Any) -> None:
    group = post.group
    author = str(post.author.public_id) if post.author is not None else ""
    emit(events.POST_RELAYED, {
        "cohort": cohort_data(group.cohort), "group": group_data(group),
        "post": {"id": post.pk, "message_id": post.message_id, "subject": post.subject, "size": post.size,
                 "author": author, "received": post.received_at.isoformat()}},
        cohort_id=group.cohort_id, learner=author)


def on_email_sent(sender: Any, email: CourseEmail, **kw: Any) -> None:
    emit(events.EMAIL_SENT, {
        "cohort": cohort_data(email.cohort),
        "email": {"id": str(email.public_id), "subject": email.subject, "progress": progress_of(email)}},
        cohort_id=email.cohort_id)


def _cohort_of(scope: str) -> Cohort | None:
    prefix, _, pk = scope.partition(":")
    if prefix != "cohort" or not pk.isdigit():
        return None
    return Cohort.objects.select_related("course").filter(pk=int(pk)).first()


def on_complained(sender: Any, address: str, delivery: Delivery | None = None, **kw: Any) -> None:
    cohort = _cohort_of(delivery.message.scope) if delivery is not None else None
    learner = (Learner.objects.filter(public_id=delivery.ref).first()
               if delivery is not None and _is_uuid(delivery.ref) else None)
    data: dict[str, Any] = {"address": address, "cohort": cohort_data(cohort) if cohort else None,
                            "learner": {"id": str(learner.public_id)} if learner else None,
                            "message": str(delivery.message.public_id) if delivery is not None else None}
    emit(events.COMPLAINT, data, cohort_id=cohort.pk if cohort else None,
         learner=str(learner.public_id) if learner else "")


def on_paused(sender: Any, message: Message, **kw: Any) -> None:
    cohort = _cohort_of(message.scope)
    email = CourseEmail.objects.filter(message=message).first()
    emit(events.SENDING_PAUSED, {
        "cohort": cohort_data(cohort) if cohort else None, "message": str(message.public_id),
        "email": {"id": str(email.public_id), "subject": email.subject} if email else None,
        "progress": outbox.progress(message)}, cohort_id=cohort.pk if cohort else None)


def on_checkin_recorded(sender: Any, checkin: Any, **kw: Any) -> None:
    """`checkins.signals.checkin_recorded(checkin)`: a learner's word on a week changed."""
    learner = checkin.learner
    emit(events.CHECKIN_RECORDED, {
        "cohort": cohort_data(learner.cohort), "learner": {"id": str(learner.public_id)},
        "checkin": {"id": checkin.pk, "week": checkin.week, "status": checkin.status, "topic": checkin.topic,
                    "source": checkin.source, "group": checkin.group.number if checkin.group_id else None}},
        cohort_id=learner.cohort_id, learner=str(learner.public_id))


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
