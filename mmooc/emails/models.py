from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from mmooc.courses.models import Cohort, Module
from mmooc.mailer.models import Message


class CourseEmail(models.Model):
    """A message written by staff for a cohort audience, sent at a scheduled time."""

    DRAFT, SCHEDULED, SENDING, SENT, CANCELLED = "draft", "scheduled", "sending", "sent", "cancelled"
    STATES = [(DRAFT, "Draft"), (SCHEDULED, "Scheduled"), (SENDING, "Sending"), (SENT, "Sent"),
              (CANCELLED, "Cancelled")]
    NOW, AT, RELATIVE, LOCAL = "now", "at", "relative", "local"
    SCHEDULES = [(NOW, "Send now"), (AT, "At a date and time (cohort time zone)"),
                 (RELATIVE, "Relative to the cohort start (cohort time zone)"),
                 (LOCAL, "Relative to the start, at each learner's local time")]
    # Emails sent by an event rather than a clock.
    TRIGGER_NONE, TRIGGER_WELCOME = "", "welcome"
    TRIGGERS = [(TRIGGER_NONE, "Scheduled"), (TRIGGER_WELCOME, "On confirmation (welcome)")]
    # Emails that only make sense during one phase of the run: no copy goes out once it is over.
    PHASE_ANY, PHASE_BEFORE_START, PHASE_GROUPING = "", "before-start", "grouping"
    PHASES = [(PHASE_ANY, "Any time"), (PHASE_BEFORE_START, "Before the start"),
              (PHASE_GROUPING, "Before the study groups are formed (the grouping check)")]

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="emails")
    module = models.ForeignKey(Module, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="emails")
    # The file name in a course folder, so a re-import finds the same email.
    key = models.CharField(max_length=100, blank=True)
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Markdown with template variables.")
    # {"kind": "all" | "grouped" | "solo" | "groups" | "answer" | "test", ...}
    audience = models.JSONField(default=dict)
    trigger = models.CharField(max_length=16, choices=TRIGGERS, default=TRIGGER_NONE, blank=True)
    schedule = models.CharField(max_length=16, choices=SCHEDULES, default=RELATIVE)
    send_at = models.DateTimeField(null=True, blank=True, help_text="For 'at'.")
    day_offset = models.IntegerField(null=True, blank=True, help_text="Days after the start.")
    local_time = models.TimeField(null=True, blank=True)
    phase = models.CharField(max_length=16, choices=PHASES, default=PHASE_ANY, blank=True)
    state = models.CharField(max_length=16, choices=STATES, default=DRAFT)
    message = models.OneToOneField(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="course_email")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cohort", "day_offset", "send_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "key"], condition=~models.Q(key=""),
                                    name="email_key_once_per_cohort"),
        ]

    def __str__(self) -> str:
        return self.subject


class CourseEmailVariant(models.Model):
    """The same course email written in another language: its own subject and body, everything
    else (audience, schedule, module) the email's. Learners whose language it is get it; the
    others get the email itself, in the course's default language.

    Once scheduled, each variant holds the message queued for its language's learners: the
    messages of an email are its own `message` and its variants' (see scheduling.messages_of)."""

    email = models.ForeignKey(CourseEmail, on_delete=models.CASCADE, related_name="variants")
    # A translated language of settings.LANGUAGES other than the default ("es", "pt-br").
    language = models.CharField(max_length=16)
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Markdown with template variables.")
    message = models.OneToOneField(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="course_email_variant")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email", "language"]
        constraints = [
            models.UniqueConstraint(fields=["email", "language"], name="email_variant_once_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.language})"


class GroupRefresh(models.Model):
    """A cohort whose queued course-email copies are still to show its groups as they are now:
    recorded when a grouping is applied, done just after by the periodic job `emails.groups`
    (so that the staff page applying the grouping of a million learners answers at once)."""

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, primary_key=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
