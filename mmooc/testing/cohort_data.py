"""A generated cohort for the dashboard's tests: learners in every state, groups, posts, mail.

Everything is varied on purpose (states, zones, languages, countries, statuses, events) so
that a count computed the wrong way differs from the right one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

from mmooc import testing
from mmooc.courses.models import Cohort
from mmooc.emails.models import CourseEmail
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner, Unsubscribe, email_key
from mmooc.lists.models import Post
from mmooc.mailer.models import Delivery, Event, Message, Suppression

ZONES = [("America/New_York", "US", "en"), ("Europe/Paris", "FR", "fr"), ("Asia/Kolkata", "IN", "en"),
         ("Australia/Adelaide", "AU", "en"), ("America/Sao_Paulo", "BR", "pt"), ("Europe/London", "GB", "en"),
         ("Asia/Tokyo", "JP", "ja")]
STATES = [Learner.CONFIRMED] * 6 + [Learner.PENDING, Learner.PENDING, Learner.LEFT, Learner.ERASED]
STATUSES = [Delivery.SENT] * 5 + [Delivery.QUEUED, Delivery.DEFERRED, Delivery.FAILED, Delivery.SUPPRESSED,
                                  Delivery.CANCELLED, Delivery.SENDING]
# event types given to the sent deliveries, by position modulo len
EVENTS = [["delivered"], ["delivered", "opened"], ["delivered", "opened", "opened", "clicked"],
          ["bounced"], ["delivered", "complained"], ["delivered", "opened", "unsubscribed"], []]


@dataclass
class CohortData:
    cohort: Cohort
    learners: list[Learner]
    groups: list[StudyGroup]
    email: CourseEmail
    message: Message
    deliveries: list[Delivery] = field(default_factory=list)


def make_cohort_data(n: int = 300, groups: int = 6, start: datetime | None = None) -> CohortData:
    now = start or timezone.now()
    cohort = testing.make_cohort(start=(now + timedelta(days=10)).date())
    learners = _learners(cohort, n, now)
    study_groups = _groups(cohort, groups, learners, now)
    email, message, deliveries = _mail(cohort, learners, now)
    _opt_outs(cohort, learners, now)
    return CohortData(cohort, learners, study_groups, email, message, deliveries)


def _learners(cohort: Cohort, n: int, now: datetime) -> list[Learner]:
    rows = []
    for i in range(n):
        zone, country, language = ZONES[i % len(ZONES)]
        state = STATES[i % len(STATES)]
        address = f"person{i}.{cohort.pk}@Example.org"
        rows.append(Learner(
            cohort=cohort, email=address, email_key=email_key(address), name=f"Person {i}", timezone=zone,
            country=country, language=language, wants_group=i % 3 != 0, state=state,
            signed_up_at=now - timedelta(days=i % 9, hours=i % 5), answers={"goal": f"goal {i % 4}"},
            confirmed_at=now if state != Learner.PENDING else None,
            left_at=now if state == Learner.LEFT else None))
    return Learner.objects.bulk_create(rows)


def _groups(cohort: Cohort, count: int, learners: list[Learner], now: datetime) -> list[StudyGroup]:
    groups = StudyGroup.objects.bulk_create([
        StudyGroup(cohort=cohort, public_id=uuid.uuid4(), number=i + 1, name=f"Group {i + 1}",
                   address=f"{cohort.slug}-group-{i + 1}@lists.example.org", language="en",
                   span_hours=float(i), capacity=50) for i in range(count)])
    members = [x for x in learners if x.state == Learner.CONFIRMED and x.wants_group]
    Membership.objects.bulk_create([Membership(group=groups[i % count], learner=x, muted=i % 17 == 0)
                                    for i, x in enumerate(members)])
    # group 1 is busy, the last group is silent, the others post now and then
    for g_index, group in enumerate(groups[:-1]):
        posts = 6 if g_index == 0 else g_index
        for p in range(posts):
            _post(group, f"Post {p} in {group.name}", now - timedelta(days=3 * p + g_index),
                  body="Hello\nFrom the start of a line\n>From quoted\n")
    return groups


def _post(group: StudyGroup, subject: str, when: datetime, body: str = "Hello") -> Post:
    msg = EmailMessage()
    msg["From"] = f"Someone <someone{when.timestamp():.0f}@example.org>"
    msg["To"] = group.address
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(body)
    raw = msg.as_bytes()
    return Post.objects.create(group=group, author_name="Someone", message_id=msg["Message-ID"],
                               subject=subject, text=body, raw=raw, size=len(raw), received_at=when)


def _mail(cohort: Cohort, learners: list[Learner],
          now: datetime) -> tuple[CourseEmail, Message, list[Delivery]]:
    message = Message.objects.create(kind=Message.SUBSCRIBED, scope=cohort.scope,
                                     tag="course-email", from_email="team@course.example.org",
                                     subject="Week 1")
    email = CourseEmail.objects.create(cohort=cohort, subject="Week 1", body="Hello",
                                       state=CourseEmail.SENDING, audience={"kind": "all"}, message=message)
    confirmed = [x for x in learners if x.state == Learner.CONFIRMED]
    deliveries = Delivery.objects.bulk_create([
        Delivery(message=message, recipient=x.email_key, ref=str(x.public_id),
                 status=STATUSES[i % len(STATUSES)],
                 # Every other Message-ID kept in the row, as before they were made from the ids.
                 rfc_message_id=f"<d{i}.{message.pk}@course.example.org>" if i % 2 else "",
                 provider_id=f"p-{message.pk}-{i}",
                 sent_at=now if STATUSES[i % len(STATUSES)] == Delivery.SENT else None)
        for i, x in enumerate(confirmed)])
    events = []
    for i, d in enumerate(x for x in deliveries if x.status == Delivery.SENT):
        for kind in EVENTS[i % len(EVENTS)]:
            events.append(Event(provider="test", event_type=kind, delivery=d, recipient=d.recipient,
                                provider_message_id=d.provider_id, occurred_at=now))
    Event.objects.bulk_create(events)
    # mail of another cohort's scope and a transactional message: never counted here
    other = Message.objects.create(kind=Message.TRANSACTIONAL, scope="cohort:0", tag="confirmation",
                                   from_email="team@course.example.org", subject="Other")
    Delivery.objects.create(message=other, recipient="stranger@example.org", status=Delivery.SENT,
                            rfc_message_id="<other@course.example.org>")
    confirmation = Message.objects.create(kind=Message.TRANSACTIONAL, scope=cohort.scope,
                                          tag="confirmation", from_email="team@course.example.org",
                                          subject="Confirm")
    Delivery.objects.bulk_create([
        Delivery(message=confirmation, recipient=x.email_key, status=Delivery.SENT,
                 rfc_message_id=f"<c{i}.{confirmation.pk}@course.example.org>")
        for i, x in enumerate(learners[:20])])
    return email, message, deliveries


def _opt_outs(cohort: Cohort, learners: list[Learner], now: datetime) -> None:
    Unsubscribe.objects.bulk_create([
        Unsubscribe(learner=x, email_key=x.email_key, scope=Unsubscribe.COHORT, source=Unsubscribe.ONE_CLICK,
                    created_at=now - timedelta(days=i % 4)) for i, x in enumerate(learners[::25])])
    reasons = [Suppression.HARD_BOUNCE, Suppression.COMPLAINT, Suppression.UNSUBSCRIBE]
    Suppression.objects.bulk_create([
        Suppression(address=x.email_key, reason=reasons[i % 3], created_at=now - timedelta(days=i % 3))
        for i, x in enumerate(learners[3::40])])
    Suppression.objects.create(address=f"nobody{cohort.pk}@example.org", reason=Suppression.MANUAL)
