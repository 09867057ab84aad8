"""A course email's sending page: live progress, the engagement funnel, pause/resume/cancel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from mmooc.audit.log import record
from mmooc.courses.access import cohorts_for
from mmooc.emails.models import CourseEmail
from mmooc.emails.scheduling import (
    cancel,
    counts_of,
    messages_of,
    missing_variants,
    progress_of,
    refresh_state,
    shown_subject,
)
from mmooc.lib.staff import organizer_required, powers, staff_required
from mmooc.mailer import counts as mail_counts
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Event, Message

# Statuses whose copies have not left yet: the bar is still moving while any remain.
WAITING = {Delivery.QUEUED, Delivery.SENDING, Delivery.DEFERRED}
# Finished copies first, so the bar fills from the left as the send advances.
BAR_ORDER = [Delivery.SENT, Delivery.SUPPRESSED, Delivery.FAILED, Delivery.CANCELLED, Delivery.DEFERRED,
             Delivery.SENDING, Delivery.QUEUED]
FINISHED = [Delivery.SENT, Delivery.FAILED, Delivery.SUPPRESSED, Delivery.CANCELLED]
FUNNEL_EVENTS = ["delivered", "bounced", "complained", "opened", "clicked", "unsubscribed"]


def get_email(public_id: str, user: Any) -> CourseEmail:
    """The email, if it belongs to a cohort the user may see; 404 otherwise."""
    return get_object_or_404(CourseEmail.objects.select_related("cohort__course", "message")
                             .filter(cohort__in=cohorts_for(user)), public_id=public_id)


def progress_summary(email: CourseEmail) -> dict[str, object]:
    """Progress over every message of the email (one per language it is written in)."""
    message = email.message
    found = counts_of(email)
    counts = found.every_status()
    total = sum(counts.values())
    done = sum(counts[s] for s in FINISHED)
    return {"counts": counts, "total": total, "done": done,
            "percent": round(100 * done / total, 1) if total else 0.0,
            "state": message.state if message is not None else "not-started",
            "finished": bool(total) and done == total, "as_of": found.as_of}


@dataclass(frozen=True)
class Step:
    name: str
    count: int
    rate: float | None  # share of the sent copies, in percent


def funnel(messages: list[Message]) -> list[Step]:
    """Sent copies, then distinct deliveries per provider event type, with their rates."""
    if not messages:
        return [Step(name, 0, None) for name in ["sent", *FUNNEL_EVENTS]]
    sent = Delivery.objects.filter(message__in=messages, status=Delivery.SENT).count()
    per_type = dict(Event.objects.filter(delivery__message__in=messages, event_type__in=FUNNEL_EVENTS)
                    .values_list("event_type").annotate(n=Count("delivery", distinct=True)).order_by())
    steps = [Step("sent", sent, 100.0 if sent else None)]
    for name in FUNNEL_EVENTS:
        n = per_type.get(name, 0)
        steps.append(Step(name, n, round(100 * n / sent, 1) if sent else None))
    return steps


@require_GET
@staff_required
def email_page(request: HttpRequest, public_id: str) -> HttpResponse:
    email = get_email(public_id, request.user)
    refresh_state(email)  # scheduled → sending → sent, from the copies' statuses
    summary = progress_summary(email)
    sent = messages_of(email)
    ctx = {"email": email, "cohort": email.cohort, "subject": shown_subject(email), "summary": summary,
           "statuses": _segments(summary),
           "funnel": funnel(sent), "actions": _actions(sent),
           "emails_url": _emails_url(email), "outbox_url": _outbox_url(email.message),
           "languages": _languages(email, sent), "missing": missing_variants(email),
           "starts_at": sending_starts(sent), **powers(request)}
    return render(request, "emails/sending.html", ctx)


def sending_starts(messages: list[Message]) -> datetime | None:
    """When the first copy is due, while nothing has left yet and it is still ahead: the undo
    window after scheduling, when cancelling still stops every copy; else None."""
    if not messages or messages[0].state == Message.CANCELLED:
        return None
    copies = Delivery.objects.filter(message__in=messages)
    if copies.exclude(status__in=(Delivery.QUEUED, Delivery.CANCELLED)).exists():
        return None
    first = copies.filter(status=Delivery.QUEUED).aggregate(at=Min("not_before"))["at"]
    if first is None or first <= timezone.now():
        return None
    return first


def _segments(summary: dict) -> list[tuple[str, str, int, float]]:
    """(status, label, copies, width in percent of all copies) for the bar and its legend."""
    total = summary["total"] or 1
    labels = dict(Delivery.STATUSES)
    return [(code, labels[code], summary["counts"][code], round(100 * summary["counts"][code] / total, 2))
            for code in BAR_ORDER]


def _emails_url(email: CourseEmail) -> str:
    """The email's compose page."""
    return reverse("emails:edit", kwargs={"cohort": email.cohort.slug, "public_id": email.public_id})


def _outbox_url(message: Message | None) -> str:
    """The mailer's page of the message's copies (what each one looked like)."""
    if message is None:
        return ""
    return reverse("mailer:outbox_message", kwargs={"public_id": message.public_id})


def _languages(email: CourseEmail, messages: list[Message]) -> list[tuple[str, Message, int]]:
    """(language, message, copies) for each message of an email written in several languages."""
    if len(messages) < 2:
        return []
    found = mail_counts.tallies(m.pk for m in messages)
    return [((m.headers or {}).get("Content-Language") or settings.LANGUAGE_CODE, m, sum(found[m.pk].statuses.values()))
            for m in messages]


def _actions(messages: list[Message]) -> list[str]:
    """Which of pause, resume, cancel make sense now (the messages move together: the first,
    the email's own, says where they stand)."""
    if not messages or messages[0].state == Message.CANCELLED:
        return []
    message = messages[0]
    waiting = Delivery.objects.filter(message__in=messages, status__in=WAITING).exists()
    if message.state == Message.PAUSED:
        return ["resume", "cancel"]
    return ["pause", "cancel"] if waiting else []


@require_GET
@staff_required
def progress_json(request: HttpRequest, public_id: str) -> JsonResponse:
    email = get_email(public_id, request.user)
    response = JsonResponse(progress_summary(email))
    response["Cache-Control"] = "no-store"
    return response


ACTIONS: dict[str, tuple[str, Any]] = {
    # action: (audit verb, what the organizer is told)
    "pause": ("email.paused", gettext_lazy("Sending paused. Nothing more leaves until you resume.")),
    "resume": ("email.resumed", gettext_lazy("Sending resumed.")),
    "cancel": ("email.cancelled", gettext_lazy("Sending cancelled. Copies not yet sent will not be sent.")),
}


# The outbox's function for each action but cancel, which cancels the email itself.
OUTBOX_FUNCTIONS: dict[str, Callable[[Message], object]] = {"pause": outbox.pause, "resume": outbox.resume}


@require_POST
@organizer_required
def control(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    email = get_email(public_id, request.user)
    sent = messages_of(email)
    if not sent or action not in _actions(sent):
        return _refuse(request, email, action)
    verb, done = ACTIONS[action]
    if action == "cancel":
        # The email itself becomes cancelled too, and records its own audit entry.
        cancel(email, request.user)
        messages.success(request, done)
        return redirect("emails:sending", public_id=email.public_id)
    with transaction.atomic():
        for message in sent:  # every language's copies
            OUTBOX_FUNCTIONS[action](message)
        record(request.user, verb, email, f"{action.capitalize()} sending of “{shown_subject(email)}”",
               message=str(sent[0].public_id), messages=[str(m.public_id) for m in sent],
               progress=progress_of(email))
    messages.success(request, done)
    return redirect("emails:sending", public_id=email.public_id)


def _refuse(request: HttpRequest, email: CourseEmail, action: str) -> HttpResponse:
    if email.message is None:
        reason = "This email has not started sending yet, so there is nothing to " + action + "."
    elif email.message.state == Message.CANCELLED:
        reason = "This email's sending was cancelled; it cannot be changed any more."
    else:
        reason = {"pause": "There is nothing left to send, so there is nothing to pause.",
                  "resume": "Sending is not paused.",
                  "cancel": "Every copy has already left; there is nothing to cancel."}[action]
    ctx = {"cohort": email.cohort, "reason": reason, "back_text": "Back to the email",
           "back_url": reverse("emails:sending", kwargs={"public_id": email.public_id})}
    return render(request, "dashboard/refused.html", ctx, status=400)
