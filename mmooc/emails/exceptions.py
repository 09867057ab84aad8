"""The errors of the course emails app: one root, each also the standard type it means."""

from __future__ import annotations


class EmailsError(Exception):
    """Anything the emails app refuses; the message says why, for an organizer."""


class ScheduleError(EmailsError, ValueError):
    """A schedule that cannot be read (the message says which forms work), or an email that
    cannot be scheduled or changed now."""


class AudienceError(EmailsError, ValueError):
    """An audience that cannot be read or that names an unknown question or answer."""
