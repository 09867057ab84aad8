"""Random sequences of what learners, staff and the engine do, with the invariants after each step.

Runs on whichever database the suite runs on (SQLite, and PostgreSQL in CI).
"""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from mmooc.audit.models import AuditEntry
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.groups import membership
from mmooc.groups.apply import apply_grouping
from mmooc.groups.grouping import GroupingError
from mmooc.groups.models import Membership
from mmooc.learners import lifecycle, registration
from mmooc.learners.models import Learner, LearnerEvent, Unsubscribe
from mmooc.lists import relay
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import outbox, suppression
from mmooc.mailer.models import Delivery, Event, Suppression
from mmooc.testing import make_cohort

pytestmark = pytest.mark.django_db
ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Asia/Tokyo", "Europe/Berlin"]


def test_learner_states_hold_their_invariants(django_capture_on_commit_callbacks, organizer):
    class Learners(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.cohort = make_cohort(tz="UTC")
            self.learners: list[Learner] = []
            self.email: CourseEmail | None = None
            # The model: who chose to study alone (or left their group) and has not asked since.
            self.alone: set[int] = set()
            # Each learner's address as they signed up, and the addresses put on the suppression list.
            self.addresses: dict[int, str] = {}
            self.suppressed: set[str] = set()
            # The group mail choice of members who made one, while their membership lasts.
            self.delivery: dict[int, str] = {}

        def act(self, func, *args, **kwargs) -> bool:
            """One step, with what happens after its commit (signals to the apps above); False
            when it was refused."""
            with django_capture_on_commit_callbacks(execute=True):
                try:
                    func(*args, **kwargs)
                except lifecycle.Refused as refused:
                    assert str(refused)  # a reason the learner can read
                    return False
            return True

        def pick(self, index: int) -> Learner:
            learner = self.learners[index % len(self.learners)]
            learner.refresh_from_db()
            return learner

        @rule(zone=st.sampled_from(ZONES), group=st.booleans())
        def sign_up(self, zone, group):
            # Unique across examples (one database for all), and none is a part of another.
            address = f"c{self.cohort.pk}l{len(self.learners)}x@example.org"
            with django_capture_on_commit_callbacks(execute=True):
                learner = registration.register(self.cohort, registration.Signup(
                    email=address, timezone=zone, wants_group=group))
            self.learners.append(learner)
            self.addresses[learner.pk] = address
            if not group:
                self.alone.add(learner.pk)

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50), rejoin=st.booleans())
        def confirm(self, i, rejoin):
            learner = self.pick(i)
            if learner.state == Learner.ERASED:
                return
            before = learner.state
            self.act(lifecycle.confirm, learner, rejoin=rejoin)
            learner.refresh_from_db()
            if before == Learner.LEFT and not rejoin:
                assert learner.state == Learner.LEFT  # an old link never brings them back

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50), wants=st.booleans())
        def choose_group(self, i, wants):
            learner = self.pick(i)
            if self.act(lifecycle.choose_group, learner, wants):
                (self.alone.discard if wants else self.alone.add)(learner.pk)

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50), scope=st.sampled_from([Unsubscribe.GROUP, Unsubscribe.COHORT, Unsubscribe.SITE]))
        def unsubscribe(self, i, scope):
            learner = self.pick(i)
            if learner.state != Learner.ERASED:
                self.act(lifecycle.unsubscribe, learner, scope, Unsubscribe.ONE_CLICK)
                if scope == Unsubscribe.GROUP:
                    self.alone.add(learner.pk)
                if scope == Unsubscribe.SITE:
                    self.suppressed.add(learner.email)

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50))
        def hard_bounce(self, i):
            learner = self.pick(i)
            if learner.state != Learner.ERASED:
                with django_capture_on_commit_callbacks(execute=True):
                    suppression.suppress(learner.email, Suppression.HARD_BOUNCE, f"550 <{learner.email}>: no such user")
                self.suppressed.add(learner.email)

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50), choice=st.sampled_from([c for c, _ in Membership.DELIVERY]))
        def choose_group_mail(self, i, choice):
            learner = self.pick(i)
            current = membership.active_membership(learner)
            if current is not None:
                membership.set_delivery(current, choice, via=lifecycle.PAGE)
                self.delivery[learner.pk] = choice

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50))
        def take_the_offer_of_a_nearer_group(self, i):
            learner = self.pick(i)
            offered = membership.nearer_group(learner)
            before = membership.active_membership(learner)
            if offered is None:
                with pytest.raises(GroupingError):  # no offer: nothing to take, nothing changes
                    membership.move_nearer(learner, before.group.number if before else 1)
                assert membership.active_membership(learner) == before
                return
            assert before is not None and offered.pk != before.group_id
            moved = membership.move_nearer(learner, offered.number)
            assert moved.group_id == offered.pk and moved.delivery == before.delivery
            assert membership.distance_hours(membership.learner_offset(learner, self.cohort), offered) \
                <= membership.NEAR_HOURS
            assert lifecycle.history(learner)[-1].kind == LearnerEvent.GROUP_MOVED

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50))
        def post_to_the_group(self, i):
            learner = self.pick(i)
            current = membership.active_membership(learner)
            if current is None:
                return
            group = current.group
            web_only = set(Membership.objects.active().filter(group=group, delivery=Membership.WEB)
                           .values_list("learner__email", flat=True)) - {learner.email}
            before = set(Delivery.objects.filter(message__tag="relay").values_list("pk", flat=True))
            with django_capture_on_commit_callbacks(execute=True):
                relay.receive(raw_post(sender=learner.email, to=group.address), learner.email, [group.address])
            sent_to = set(Delivery.objects.filter(message__tag="relay").exclude(pk__in=before)
                          .values_list("recipient", flat=True))
            assert not sent_to & web_only  # web only: no copy, the archive has it

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50))
        def leave(self, i):
            self.act(lifecycle.leave, self.pick(i))

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50))
        def complain(self, i):
            self.act(lifecycle.complain, self.pick(i).email)

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50))
        def erase(self, i):
            self.act(lifecycle.erase, self.pick(i))

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50), zone=st.sampled_from(ZONES))
        def change_zone(self, i, zone):
            learner = self.pick(i)
            if learner.state != Learner.ERASED:
                self.act(lifecycle.change_timezone, learner, zone)

        @rule()
        def apply_grouping(self):
            self.act(apply_grouping, self.cohort, target_size=2)

        @precondition(lambda self: self.learners)
        @rule(i=st.integers(0, 50))
        def place_late(self, i):
            self.act(membership.place_late_joiner, self.pick(i))

        @precondition(lambda self: self.email is None)
        @rule()
        def schedule_course_email(self):
            self.email = CourseEmail.objects.create(
                cohort=self.cohort, subject="Week 2", body="Read it.\n", schedule=CourseEmail.LOCAL,
                module=self.cohort.course.modules.get(position=2), day_offset=7, local_time=time(9, 0))
            self.act(scheduling.schedule, self.email, organizer)

        def queued(self):
            return Delivery.objects.filter(message__tag=scheduling.TAG, status=Delivery.QUEUED,
                                           message__scope=self.cohort.scope)

        @invariant()
        def nobody_who_stopped_has_a_course_copy_queued(self):
            stopped = Learner.objects.filter(cohort=self.cohort).exclude(
                state=Learner.CONFIRMED, unsubscribed_at__isnull=True, complained_at__isnull=True)
            refs = {str(pid) for pid in stopped.values_list("public_id", flat=True)}
            assert not refs & set(self.queued().values_list("ref", flat=True))

        @invariant()
        def nobody_studying_alone_or_gone_is_in_a_group(self):
            active = Membership.objects.active().filter(group__cohort=self.cohort)
            assert not active.exclude(learner__state=Learner.CONFIRMED).exists()
            assert not active.filter(learner__wants_group=False).exists()
            assert not active.filter(learner__in=self.alone).exists()

        @invariant()
        def queued_local_copies_follow_the_learners_zone(self):
            if self.email is None:
                return
            p = scheduling.Personalizer(self.email, with_groups=False)
            zones = dict(Learner.objects.filter(cohort=self.cohort).values_list("public_id", "timezone"))
            for ref, not_before in self.queued().values_list("ref", "not_before"):
                zone = next(z for pid, z in zones.items() if str(pid) == ref)
                assert not_before == p.not_before(zone)

        @invariant()
        def an_erased_learner_is_nowhere_by_address(self):
            for learner in Learner.objects.filter(cohort=self.cohort, state=Learner.ERASED):
                assert learner.email.endswith("@erased.invalid") and learner.name == ""
                assert not Delivery.objects.filter(ref=str(learner.public_id)).exclude(
                    recipient=learner.email).exists()
                address = self.addresses[learner.pk]
                for model, fields in ((Suppression, ("address", "detail")), (Delivery, ("recipient",)),
                                      (Event, ("recipient",)), (AuditEntry, ("summary",)),
                                      (LearnerEvent, ("note",)), (Unsubscribe, ("email_key",))):
                    for name in fields:
                        assert not model.objects.filter(**{f"{name}__icontains": address}).exists(), (model, name)
                # What stays to honour "never mail me again" is a keyed hash, and it still does.
                if address in self.suppressed:
                    assert outbox.is_suppressed(address)
                    assert Suppression.objects.filter(address=suppression.keyed_hash(address)).exists()

        @invariant()
        def a_members_group_mail_choice_lasts_as_long_as_their_membership(self):
            active = dict(Membership.objects.active().filter(group__cohort=self.cohort)
                          .values_list("learner_id", "delivery"))
            for pk in list(self.delivery):
                if pk not in active:
                    del self.delivery[pk]  # out of the group: a new membership starts with each post
            for pk, delivery in active.items():
                assert delivery == self.delivery.get(pk, Membership.EACH)

        @invariant()
        def an_offer_of_a_nearer_group_only_when_the_group_is_far(self):
            for m in Membership.objects.active().filter(group__cohort=self.cohort).select_related("group", "learner"):
                offered = membership.nearer_group(m.learner)
                far = membership.distance_hours(membership.learner_offset(m.learner, self.cohort), m.group)
                assert offered is None or (far > membership.NEAR_HOURS and offered.pk != m.group_id)

    run_state_machine_as_test(Learners, settings=settings(
        max_examples=25, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
