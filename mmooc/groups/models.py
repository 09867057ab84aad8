from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.mailer.models import Message


class Grouping(models.Model):
    """One application of the grouping algorithm to a cohort, with what it was given."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="groupings")
    seed = models.BigIntegerField()
    target_size = models.PositiveIntegerField()
    min_size = models.PositiveIntegerField()
    max_size = models.PositiveIntegerField()
    min_group = models.PositiveIntegerField(null=True, blank=True, help_text="The minimum group size it kept.")
    learner_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)


class GroupingPolicy(models.Model):
    """A cohort's own grouping settings (absent: the site's defaults)."""

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, primary_key=True,
                                  related_name="grouping_policy")
    # No group is formed smaller than this: its learners join the nearest group instead.
    min_group_size = models.PositiveSmallIntegerField(null=True, blank=True,
                                                      help_text="Empty: MMOOC_MIN_GROUP_SIZE (5 unless set).")
    updated_at = models.DateTimeField(default=timezone.now)


class StudyGroup(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="groups")
    grouping = models.ForeignKey(Grouping, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="groups")
    public_id = models.UUIDField(unique=True, editable=False, null=True)
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    address = models.EmailField(max_length=254, unique=True)
    language = models.CharField(max_length=16, blank=True, help_text="Empty for a pooled group.")
    pooled = models.BooleanField(default=False, help_text="Mixed languages.")
    span_hours = models.FloatField(default=0, help_text="Widest UTC offset difference at creation.")
    capacity = models.PositiveIntegerField(default=0, help_text="Most members late joiners may fill it to.")
    # The arc of the day the group covers, going east from its first member's UTC offset to
    # its last one's (hours, on the cohort's start date): late joiners are placed by it.
    offset_start = models.FloatField(default=0)
    offset_end = models.FloatField(default=0)
    # Set once the group's welcome email is in the outbox; None: still to queue.
    welcomed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cohort", "number"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "number"], name="group_number_unique"),
        ]
        indexes = [
            # Recipient lookups whatever the case (lists.relay.find_group): every RCPT of group
            # mail, from Postfix's socketmap and from the LMTP server.
            models.Index(Lower("address"), name="group_address_lower"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def list_id(self) -> str:
        """The List-Id of the group's list: its address with the @ as a dot."""
        return self.address.replace("@", ".")


class MembershipQuerySet(models.QuerySet):
    def active(self) -> MembershipQuerySet:
        return self.filter(left_at__isnull=True)



def active_through(relation: str) -> models.Q:
    """Active memberships seen from a related model: `active_through("memberships")` on StudyGroup."""
    return models.Q(**{f"{relation}__left_at__isnull": True})


class Membership(models.Model):
    # How the member gets the group's posts: each as it comes, one daily digest, or no mail
    # at all (they read the group's archive on the web).
    EACH, DIGEST, WEB = "each", "digest", "web"
    DELIVERY = [(EACH, "Each post"), (DIGEST, "Daily digest"), (WEB, "Web only: read in the archive")]

    # No index of its own: membership_group_active (group, left_at) serves lookups by group, and
    # one index fewer to fill is a million fewer entries written when a large cohort is grouped.
    # No foreign key constraint in the database for either: PostgreSQL checks one row at a time
    # (two lookups per membership, 35 s of a million-learner grouping's commit). Deletions
    # cascade in Django as before; the grouping locks the learners it reads (PostgreSQL) or
    # checks its memberships in one query (SQLite: apply._check_memberships); the other
    # writers add one membership to a learner and group they have just read, and only
    # unconfirmed learners are ever deleted.
    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="memberships", db_index=False,
                              db_constraint=False)
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="memberships", db_constraint=False)
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)
    muted = models.BooleanField(default=False)
    delivery = models.CharField(max_length=8, choices=DELIVERY, default=EACH)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            # A learner is in at most one group at a time.
            models.UniqueConstraint(fields=["learner"], condition=models.Q(left_at__isnull=True),
                                    name="one_active_membership"),
        ]
        indexes = [
            # Relay fan-out: the active members of one group.
            models.Index(fields=["group", "left_at"], name="membership_group_active"),
        ]


class GroupCheck(models.Model):
    """One sending of "do you still want a group?" to a cohort's learners."""

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="group_checks")
    sent_at = models.DateTimeField(default=timezone.now)
    learner_count = models.PositiveIntegerField(default=0)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The undo window: no copy leaves before this (None: sent at once). Cancelling stops every
    # copy not yet sent, of each language's message.
    held_until = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    messages = models.ManyToManyField(Message, blank=True, related_name="+")


class Facilitation(models.Model):
    """A facilitator assigned to a study group: they see and moderate it and its members."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="facilitations")
    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="facilitations")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group"], name="facilitation_unique")]
