from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from mmooc.groups.models import StudyGroup
from mmooc.learners.models import Learner

# Characters of a subject the threads compare (mmooc.lists.threads.subject_key).
SUBJECT_KEY_LENGTH = 200


class PostQuerySet(models.QuerySet):
    def visible(self) -> PostQuerySet:
        """What members see in the archive and in digests: not hidden, not held."""
        return self.filter(hidden=False, held=False)


class Post(models.Model):
    """A message a member sent to their group's address, kept in the group's archive."""

    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(Learner, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="posts")
    author_name = models.CharField(max_length=200, blank=True)
    message_id = models.CharField(max_length=995)
    in_reply_to = models.CharField(max_length=995, blank=True)
    references = models.TextField(blank=True)
    # Message-ID of the first post of the thread, for the archive's threads.
    thread_id = models.CharField(max_length=995, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    # The subject without tags and "Re:", case folded: how a reply without References finds
    # its thread. Set from `subject` on every save.
    subject_key = models.CharField(max_length=SUBJECT_KEY_LENGTH, blank=True)
    text = models.TextField(blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False)
    # Stored but not relayed: the provider judged it spam. Staff decide.
    held = models.BooleanField(default=False)
    held_reason = models.CharField(max_length=200, blank=True)
    # The outbox message that carried the copies (None while held).
    outbox_message = models.ForeignKey("mailer.Message", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["received_at"]
        constraints = [
            # One relay per (Message-ID, group), whoever re-delivers it.
            models.UniqueConstraint(fields=["group", "message_id"], name="post_once_per_group"),
        ]
        indexes = [
            # Archive pages: a group's posts by thread and time.
            models.Index(fields=["group", "thread_id", "received_at"], name="post_thread"),
            # Digests and stats: a group's posts in a time window.
            models.Index(fields=["group", "received_at"], name="post_group_time"),
            # A reply without References: the latest thread of its subject.
            models.Index(fields=["group", "subject_key"], name="post_subject_key"),
            # The moderation queue and the daily note: held posts, oldest first.
            models.Index(fields=["received_at"], condition=models.Q(held=True), name="post_held"),
        ]

    def __str__(self) -> str:
        return self.subject or "(no subject)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from mmooc.lists.threads import subject_key

        self.subject_key = subject_key(self.subject)
        if self._state.adding and not self.thread_id:
            self.thread_id = self.message_id  # a post that names no thread starts one
        fields = kwargs.get("update_fields")
        if fields is not None and "subject" in fields:
            kwargs["update_fields"] = {*fields, "subject_key"}
        super().save(*args, **kwargs)


class Refusal(models.Model):
    """A message sent to a group address and not relayed, with why: for staff to look into."""

    TOO_BIG, DEFECTIVE, NO_MESSAGE_ID, LOOP, BOUNCE, AUTO_REPLY, NON_MEMBER, MUTED = (
        "too-big", "defective", "no-message-id", "loop", "bounce", "auto-reply", "non-member", "muted")
    REASONS = [(TOO_BIG, "Too big"), (DEFECTIVE, "Unreadable (broken MIME)"),
               (NO_MESSAGE_ID, "No Message-ID"), (LOOP, "Mail loop"), (BOUNCE, "Bounce"),
               (AUTO_REPLY, "Automatic reply"), (NON_MEMBER, "Sender is not a member"),
               (MUTED, "Sender is muted")]

    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="refusals")
    reason = models.CharField(max_length=16, choices=REASONS)
    sender = models.CharField(max_length=254, blank=True, help_text="From address, lower-cased.")
    envelope_sender = models.CharField(max_length=254, blank=True)
    message_id = models.CharField(max_length=995, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    size = models.PositiveIntegerField(default=0)
    detail = models.CharField(max_length=500, blank=True)
    notified = models.BooleanField(default=False, help_text="The sender was sent a notice.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # A group's staff page: its recent refusals.
            models.Index(fields=["group", "created_at"], name="refusal_group_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.sender or self.envelope_sender}"


class Notice(models.Model):
    """One notice to a sender whose post was refused, at most one per address per day."""

    address = models.CharField(max_length=254, help_text="Lower-cased.")
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # The rate limit itself: a second notice the same day fails to insert.
            models.UniqueConstraint(fields=["address", "day"], name="notice_once_per_day"),
        ]


class Digest(models.Model):
    """One day's digest of a group's posts, for the members who chose a digest."""

    group = models.ForeignKey(StudyGroup, on_delete=models.CASCADE, related_name="digests")
    day = models.DateField()
    since = models.DateTimeField()
    until = models.DateTimeField()
    post_count = models.PositiveIntegerField(default=0)
    message = models.ForeignKey("mailer.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group", "-day"]
        constraints = [
            # One digest per group per day, however often the command runs.
            models.UniqueConstraint(fields=["group", "day"], name="digest_once_per_day"),
        ]


class Moderation(models.Model):
    """A cohort's moderation settings for its groups' lists (a cohort without a row: defaults)."""

    cohort = models.OneToOneField("courses.Cohort", on_delete=models.CASCADE, related_name="moderation")
    # Hold a member's posts until one of theirs has gone to the group (approved, or relayed).
    hold_first_post = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)


class HeldNote(models.Model):
    """One day's note to a staff member about the posts held in their groups: at most one a day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    post_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="held_note_once_per_day"),
        ]
