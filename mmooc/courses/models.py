from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mmooc.lib.timezones import local_datetime, validate_zone

DEFAULT_GROUP_SIZE = 40


class Course(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    description = models.TextField(blank=True, help_text="Markdown.")
    # [{"question": "...", "answer": "markdown"}]
    faq = models.JSONField(default=list, blank=True)
    # [{"id": "experience", "label": "...", "type": "text|single|multiple|yesno",
    #   "choices": [...], "required": false}]
    questions = models.JSONField(default=list, blank=True)
    group_size = models.PositiveIntegerField(default=DEFAULT_GROUP_SIZE, validators=[MinValueValidator(2)])
    organizer_name = models.CharField(max_length=200, blank=True)
    organizer_email = models.EmailField(blank=True)
    postal_line = models.CharField(max_length=300, blank=True, help_text="Postal address for email footers.")
    # {"forum": url, "blog": url, "chat": url, "twitter": url, ...}
    links = models.JSONField(default=dict, blank=True)
    # Suggestions for a first message, sent in each group's welcome email (Markdown).
    group_intro = models.TextField(blank=True)
    # Origins allowed to post signups from other sites, one per line.
    cors_origins = models.TextField(blank=True)
    # The course folder's files as last imported: {path: {"text": the file, "made": what an
    # export would write for it}}. An export writes a file as it was while what it describes
    # has not changed since, so export then import of an unchanged course is a no-op.
    folder_files = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def question(self, question_id: str) -> dict | None:
        return next((q for q in self.questions if q.get("id") == question_id), None)


_NUMBERED = re.compile(r"^\s*(?:week|module|part|unit|lesson)\s+(\d{1,3})\s*[:.\-–—]\s*", re.IGNORECASE)


class Module(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    goals = models.TextField(blank=True, help_text="Markdown.")
    release_offset_days = models.IntegerField(default=0, help_text="Days after the cohort start.")

    class Meta:
        ordering = ["course", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "position"], name="module_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @property
    def bare_title(self) -> str:
        """The title without a leading "Week 2:" or "Module 2 -" that repeats its position,
        for wherever the position is already written next to it."""
        match = _NUMBERED.match(self.title)
        if match and int(match.group(1)) == self.position and match.end() < len(self.title):
            return self.title[match.end():]
        return self.title

    def release_date(self, cohort: Cohort) -> date:
        return cohort.start_date + timedelta(days=self.release_offset_days)

    def total_minutes(self) -> int:
        return sum(r.minutes or 0 for r in self.resources.all())


class Resource(models.Model):
    VIDEO, READING, EXERCISE, FORUM, DOWNLOAD, OTHER = (
        "video", "reading", "exercise", "forum", "download", "other")
    KINDS = [(VIDEO, _("Video")), (READING, _("Reading")), (EXERCISE, _("Exercise")), (FORUM, _("Forum")),
             (DOWNLOAD, _("Download")), (OTHER, _("Other"))]

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="resources")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=1000)
    kind = models.CharField(max_length=16, choices=KINDS, default=READING)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    download_url = models.URLField(max_length=1000, blank=True, help_text="Offline copy, if any.")

    class Meta:
        ordering = ["module", "position", "id"]

    def __str__(self) -> str:
        return self.title


class CohortQuerySet(models.QuerySet):
    def published(self) -> CohortQuerySet:
        return self.exclude(state=Cohort.DRAFT)

    def signup_open(self, now: datetime | None = None) -> CohortQuerySet:
        now = now or timezone.now()
        return self.filter(state=Cohort.PUBLISHED, signup_opens__lte=now, signup_closes__gt=now)


class Cohort(models.Model):
    DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"
    STATES = [(DRAFT, "Draft"), (PUBLISHED, "Published"), (ARCHIVED, "Archived")]

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="cohorts")
    # Globally unique: the signup API and `mmooc cohort list` name a cohort by slug alone.
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200, blank=True, help_text="e.g. Spring 2027")
    signup_opens = models.DateTimeField()
    signup_closes = models.DateTimeField()
    start_date = models.DateField()
    end_date = models.DateField()
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_zone],
                                help_text="IANA time zone for cohort-wide times.")
    state = models.CharField(max_length=16, choices=STATES, default=DRAFT)
    # Ask grouped learners "do you still want a group?" before grouping.
    confirm_group_wish = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CohortQuerySet.as_manager()

    class Meta:
        ordering = ["course", "-start_date"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_date__gte=models.F("start_date")),
                                   name="cohort_ends_after_start"),
            models.CheckConstraint(condition=models.Q(signup_closes__gt=models.F("signup_opens")),
                                   name="cohort_signup_window"),
        ]

    def __str__(self) -> str:
        return f"{self.course.title} — {self.title or self.slug}"

    @staticmethod
    def scope_for(pk: int) -> str:
        """The outbox scope of everything sent to or for the learners of the cohort with this id."""
        return f"cohort:{pk}"

    @property
    def scope(self) -> str:
        return Cohort.scope_for(self.pk)

    def phase(self, now: datetime | None = None) -> str:
        """Where the cohort stands: draft, upcoming, signup-open, running, finished, archived."""
        now = now or timezone.now()
        if self.state != self.PUBLISHED:
            return self.state
        if now < self.signup_opens:
            return "upcoming"
        if now < self.signup_closes:
            return "signup-open"
        if now < self.end_at():
            return "running"
        return "finished"

    def stage(self, now: datetime | None = None) -> tuple[str, str]:
        """Where the cohort stands, as staff pages and the command line name it, from its dates:
        once it has started it is running (week N), whether or not signup is still open.

        `phase()` answers a narrower question for the signup pages: can one sign up now?
        """
        now = now or timezone.now()
        if self.state != self.PUBLISHED:
            return self.state, self.get_state_display()
        if now >= self.end_at():
            return "finished", "Finished"
        if now >= self.start_at():
            week = (now - self.start_at()).days // 7 + 1
            late = ", signup open" if self.signup_opens <= now < self.signup_closes else ""
            return "running", f"Running, week {week}{late}"
        if now < self.signup_opens:
            return "upcoming", "Upcoming"
        if now < self.signup_closes:
            return "signup-open", "Signup open"
        return "upcoming", "Signup closed, not started"

    def signup_is_open(self, now: datetime | None = None) -> bool:
        return self.phase(now) == "signup-open"

    def start_at(self) -> datetime:
        return local_datetime(self.start_date, time(0), self.timezone)

    def end_at(self) -> datetime:
        return local_datetime(self.end_date + timedelta(days=1), time(0), self.timezone)


class CohortOrganizer(models.Model):
    """An organizer limited to cohorts: one row per cohort they organize.

    An organizer with no row (and every superuser) keeps site-wide powers, as before cohorts
    could be assigned; one row or more limits them to those cohorts (`courses.access`).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organized_cohorts")
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="organizers")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "cohort"], name="cohort_organizer_unique")]
