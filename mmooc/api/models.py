"""API tokens (stored as a hash, shown once) and the responses kept for Idempotency-Key."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from mmooc.courses.models import Cohort

PREFIX = "mmooc_"


def digest(token: str) -> str:
    """The stored form of a token: its secret part is 32 random bytes, so one SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    READ, WRITE = "read", "write"
    SCOPES = [(READ, "Read only"), (WRITE, "Read and write")]

    name = models.CharField(max_length=100)
    # What identifies the token in lists and logs; the secret after it is never stored.
    hint = models.CharField(max_length=16, editable=False)
    # The one lookup of every API request: the token's hash.
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(max_length=8, choices=SCOPES, default=READ)
    cohort = models.ForeignKey(Cohort, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               help_text="Empty: every cohort.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def writes(self) -> bool:
        return self.scope == self.WRITE

    @classmethod
    def issue(cls, *, name: str, scope: str, cohort: Cohort | None, created_by: object) -> tuple[ApiToken, str]:
        """A new token and its secret text, which only the caller ever sees."""
        text = PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(name=name, scope=scope, cohort=cohort, created_by=created_by,
                                   hint=text[: len(PREFIX) + 6], digest=digest(text))
        return token, text


class IdempotentResponse(models.Model):
    """The response to a POST sent with an Idempotency-Key, replayed for the same key and token."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # The method, path and body the key was first used with: the same key with others is refused.
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)  # None while the first request runs
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="api_idempotency_once")]
        # The hourly prune: rows older than a day.
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_age")]
