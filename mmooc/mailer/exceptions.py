"""The mailer's errors: one root, each also the standard type it means."""

from __future__ import annotations


class MailerError(Exception):
    """Anything the mailer refuses."""


class OutboxError(MailerError, ValueError):
    """A message or recipient the outbox refuses; the text says why, for an organizer."""


class EngineError(MailerError):
    """The engine cannot run as configured."""


class EngineBusy(EngineError):
    """Another engine holds the lock this one needs."""
