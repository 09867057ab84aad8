from __future__ import annotations

from django.db import models
from django.utils import timezone

from mmooc.checkins.parsing import STATUSES
from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup
from mmooc.learners.models import Learner


class CheckInQuerySet(models.QuerySet["CheckIn"]):
    def current(self) -> CheckInQuerySet:
        """Only each learner's last word on each week (a later one of another status replaces it)."""
        later = (models.Q(updated_at__gt=models.OuterRef("updated_at"))
                 | models.Q(updated_at=models.OuterRef("updated_at"), pk__gt=models.OuterRef("pk")))
        newer = CheckIn.objects.filter(later, learner=models.OuterRef("learner"), week=models.OuterRef("week"))
        return self.exclude(models.Exists(newer))

    def latest_per_week(self) -> dict[tuple[int, int], CheckIn]:
        """(learner id, week) → the learner's last word on that week."""
        found: dict[tuple[int, int], CheckIn] = {}
        for checkin in self.order_by("updated_at", "pk"):
            found[(checkin.learner_id, checkin.week)] = checkin
        return found


class CheckIn(models.Model):
    """A learner's word on one week: done, stuck (on a topic) or skipped.

    One row per learner, week and status: saying it again updates the row (and is not
    acknowledged again); the row updated last is the learner's current word on the week."""

    GROUP, REPLY = "group", "reply"
    SOURCES = [(GROUP, "Mail to the group"), (REPLY, "Reply to a course email")]

    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="checkins")
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="checkins")
    group = models.ForeignKey(StudyGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="checkins")
    week = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=STATUSES)
    topic = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=8, choices=SOURCES)
    message_id = models.CharField(max_length=995, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "week", "status"], name="checkin_once_per_week_status"),
        ]
        indexes = [
            # The cohort overview's completion by week, and a group's week on its staff page.
            models.Index(fields=["cohort", "week"], name="checkin_cohort_week"),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} week {self.week}"


class CohortSettings(models.Model):
    """A cohort's check-in choices; a cohort without a row has the defaults."""

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, related_name="checkin_settings")
    weekly_summary = models.BooleanField(default=True)

    @classmethod
    def for_cohort(cls, cohort: Cohort) -> CohortSettings:
        return cls.objects.filter(cohort=cohort).first() or cls(cohort=cohort)


class Summary(models.Model):
    """A weekly summary posted to a group: at most one per group and week."""

    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="checkin_summaries")
    week = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "week"], name="summary_once_per_group_week"),
        ]
