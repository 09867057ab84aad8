from __future__ import annotations

from django.db import models
from django.utils import timezone

from mmooc.groups.models import StudyGroup
from mmooc.learners.models import Learner


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
    text = models.TextField(blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    hidden = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at"]
        constraints = [
            # One relay per (Message-ID, group), whoever re-delivers it.
            models.UniqueConstraint(fields=["group", "message_id"], name="post_once_per_group"),
        ]
        indexes = [
            # Archive pages: a group's posts by thread and time.
            models.Index(fields=["group", "thread_id", "received_at"], name="post_thread"),
        ]
