from __future__ import annotations

import uuid

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from mmooc.courses.models import Cohort, Course


def email_key(address: str) -> str:
    """The form of an address used to find a person again: case does not make two people."""
    return address.strip().lower()


class LearnerQuerySet(models.QuerySet):
    def confirmed(self) -> LearnerQuerySet:
        return self.filter(state=Learner.CONFIRMED)

    def pending(self) -> LearnerQuerySet:
        return self.filter(state=Learner.PENDING)

    def wanting_group(self) -> LearnerQuerySet:
        return self.filter(wants_group=True)


class Learner(models.Model):
    PENDING, CONFIRMED, LEFT, ERASED = "pending", "confirmed", "left", "erased"
    STATES = [(PENDING, "Unconfirmed"), (CONFIRMED, "Confirmed"), (LEFT, "Left the cohort"),
              (ERASED, "Data deleted")]
    SIGNUP_FORM, SIGNUP_API, SIGNUP_IMPORT, SIGNUP_DEMO = "form", "api", "import", "demo"
    SOURCES = [(SIGNUP_FORM, "Signup form"), (SIGNUP_API, "Signup API"), (SIGNUP_IMPORT, "Import"),
               (SIGNUP_DEMO, "Demo data")]

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="learners")
    email = models.EmailField(max_length=254)
    email_key = models.CharField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    country = models.CharField(max_length=2, blank=True, help_text="ISO code, from the time zone.")
    language = models.CharField(max_length=16, default="en")
    wants_group = models.BooleanField(default=True)
    # None until asked "do you still want a group?"; then the answer.
    group_confirmed = models.BooleanField(null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=STATES, default=PENDING)
    source = models.CharField(max_length=16, choices=SOURCES, default=SIGNUP_FORM)
    signed_up_at = models.DateTimeField(default=now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    # Course emails for this cohort stopped (unsubscribe); group mail may go on.
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The address marked our mail as spam (the mailer suppresses it; staff see the flag).
    complained_at = models.DateTimeField(null=True, blank=True)

    objects = LearnerQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cohort", "email_key"], name="learner_once_per_cohort"),
        ]
        indexes = [
            # Cohort overview and audiences: confirmed learners of a cohort.
            models.Index(fields=["cohort", "state"], name="learner_cohort_state"),
            # The overview's counts by country, language, zone, wish for a group and state
            # (stats.breakdown: one GROUP BY of these columns, in this order) read from the index
            # alone. State comes last: queries for a state keep the index above, whose rows of a
            # state lie in table order (this one's would be read scattered).
            models.Index(fields=["cohort", "country", "language", "timezone", "wants_group", "state"],
                         name="learner_cohort_breakdown"),
            # Finding a person across cohorts (suppression, unsubscribe from all).
            models.Index(fields=["email_key"], name="learner_email_key"),
            # The staff list's newest-first page (ORDER BY signed_up_at DESC, id DESC LIMIT 100)
            # and the overview's signups per day, read from the index alone.
            models.Index(fields=["cohort", "signed_up_at"], name="learner_cohort_signed_up"),
            # The staff list's choice of time zones (DISTINCT timezone), from the index alone.
            models.Index(fields=["cohort", "timezone"], name="learner_cohort_timezone"),
            # Group health: the cohort's learners who unsubscribed since the window's start.
            models.Index(fields=["cohort", "unsubscribed_at"], name="learner_cohort_unsubscribed"),
            # Who waits for a group (groups.apply.eligible_learners): the ids of the cohort's
            # learners who want one, in id order, read from this index alone and matched
            # against the active memberships' index (a merge of two index-only scans, not a
            # pass over every learner's row).
            models.Index(fields=["cohort", "id"], name="learner_cohort_wanting_group",
                         condition=models.Q(state="confirmed", wants_group=True) & ~models.Q(group_confirmed=False)),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


class Unsubscribe(models.Model):
    """A recorded choice to stop some mail: kept with its time and where it came from."""

    GROUP, COHORT, SITE = "group", "cohort", "site"
    SCOPES = [(GROUP, "Leave my study group"), (COHORT, "Stop course emails for this cohort"),
              (SITE, "Stop all mail from this site")]
    ONE_CLICK, PAGE, PROVIDER, STAFF = "one-click", "page", "provider", "staff"
    SOURCES = [(ONE_CLICK, "One-click (List-Unsubscribe-Post)"), (PAGE, "Unsubscribe page"),
               (PROVIDER, "Mail provider"), (STAFF, "Staff")]

    learner = models.ForeignKey(Learner, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="unsubscribes")
    email_key = models.CharField(max_length=254)
    scope = models.CharField(max_length=16, choices=SCOPES)
    source = models.CharField(max_length=16, choices=SOURCES)
    created_at = models.DateTimeField(default=now)


class WaitlistEntry(models.Model):
    """A visitor who asked to be told when the next cohort of a course opens."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="waitlist")
    email = models.EmailField(max_length=254)
    email_key = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "email_key"], name="waitlist_once_per_course"),
        ]


class WaitlistNotice(models.Model):
    """One "the next cohort is open" email to one waitlist entry: at most one per cohort."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="notices")
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            # Never told twice of the same cohort, however often the job runs.
            models.UniqueConstraint(fields=["entry", "cohort"], name="waitlist_notice_once_per_cohort"),
        ]


class LearnerEvent(models.Model):
    """One change in a learner's life (learners.lifecycle records each), for staff and the learner.

    It names what happened and how, never an address or a name, so it stays after erasure.
    """

    SIGNED_UP, CONFIRMED, REJOINED, LEFT, ERASED = "signed-up", "confirmed", "rejoined", "left", "erased"
    GROUP_WANTED, GROUP_LEFT, SOLO = "group-wanted", "group-left", "solo"
    UNSUBSCRIBED, COMPLAINED, ZONE_CHANGED = "unsubscribed", "complained", "zone-changed"
    ALIAS_ADDED, ALIAS_REMOVED = "alias-added", "alias-removed"
    KINDS = [(SIGNED_UP, _("Signed up")), (CONFIRMED, _("Confirmed")), (REJOINED, _("Joined again")),
             (LEFT, _("Left the cohort")), (ERASED, _("Data deleted")), (GROUP_WANTED, _("Asked for a study group")),
             (GROUP_LEFT, _("Left the study group")), (SOLO, _("Chose to study on their own")),
             (UNSUBSCRIBED, _("Unsubscribed")), (COMPLAINED, _("Marked our mail as spam")),
             (ZONE_CHANGED, _("Changed time zone")), (ALIAS_ADDED, _("Added another address")),
             (ALIAS_REMOVED, _("Removed another address"))]
    # Kinds recorded since the field's choices were last migrated: shown by get_kind_display,
    # to join KINDS with the app's next migration.
    LANGUAGE_CHANGED, CATCH_UP = "language-changed", "catch-up"
    GROUP_MAIL, GROUP_MOVED = "group-mail", "group-moved"
    LATER_KINDS = [(LANGUAGE_CHANGED, _("Changed language")), (CATCH_UP, _("Asked for the weeks they missed")),
                   (GROUP_MAIL, _("Chose how to get group mail")),
                   (GROUP_MOVED, _("Moved to a group nearer their time zone"))]

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=KINDS)
    # How it came about: the link or page used, the mail provider, staff, an import.
    via = models.CharField(max_length=32, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["learner", "created_at"], name="learner_event_time")]
        ordering = ["created_at", "id"]

    def get_kind_display(self) -> str:  # type: ignore[no-redef]  # Django's, with LATER_KINDS
        labels = dict(self.KINDS + self.LATER_KINDS)
        return str(labels[self.kind]) if self.kind in labels else self.kind


class LearnerAliasQuerySet(models.QuerySet):
    def confirmed(self) -> LearnerAliasQuerySet:
        return self.filter(confirmed_at__isnull=False)


class LearnerAlias(models.Model):
    """Another address a learner writes from ("this is also me"): their posts from it reach
    their group as theirs. It never receives mail; mail goes to the learner's own address."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="aliases")
    # The learner's cohort, kept here so that the database holds "one person per address per cohort".
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="+")
    address = models.EmailField(max_length=254)
    address_key = models.CharField(max_length=254)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=now)

    objects = LearnerAliasQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "address_key"], name="alias_once_per_cohort"),
        ]
        indexes = [
            # The relay: is this sender a member's other address? (address_key among a group's learners)
            models.Index(fields=["address_key"], name="alias_address_key"),
        ]

    def __str__(self) -> str:
        return self.address
