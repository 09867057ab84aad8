"""The outbox viewer: every message the engine stored (or would send), as a mail client shows it."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from mmooc.audit.log import record
from mmooc.lib.mailheaders import HeaderError
from mmooc.lib.paging import other_params
from mmooc.lib.staff import is_organizer, sitewide_required
from mmooc.mailer import counts, shown
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.redact import redact_message, redact_text
from mmooc.mailer.render import prepare

MESSAGES_PER_PAGE, RECIPIENTS_PER_PAGE = 50, 100
STATUS_NAMES = [s for s, _ in Delivery.STATUSES]


class OutboxSearch(forms.Form):
    q = forms.CharField(required=False, max_length=254, strip=True, label=gettext_lazy("Recipient"))


@require_GET
@sitewide_required
def outbox_list(request: HttpRequest) -> HttpResponse:
    form = OutboxSearch(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("The recipient to search for is at most 254 characters.")
    query = form.cleaned_data["q"]
    messages = Message.objects.order_by("-created_at", "-pk")
    if query:
        messages = messages.filter(
            pk__in=Delivery.objects.filter(recipient__icontains=query).values("message"))
    # Copies of the page's messages only, as last counted (mailer.counts): counting every
    # message's copies to show fifty of them reads the whole outbox.
    page = Paginator(messages, MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    shown_page = list(Message.objects.filter(pk__in=[m.pk for m in page.object_list])
                      .annotate(sample=shown.sample_context()).order_by("-created_at", "-pk"))
    found = counts.tallies(m.pk for m in shown_page)
    copies = {m.pk: found[m.pk].statuses for m in shown_page}
    for m in shown_page:
        m.total = sum(copies[m.pk].values())  # type: ignore[attr-defined]  # as the template reads it
    rows = [(m, shown.subject(m, getattr(m, "sample", None)),
             [(s, copies[m.pk][s]) for s in STATUS_NAMES if copies[m.pk].get(s)])
            for m in shown_page]
    as_of = [c.as_of for c in found.values() if c.as_of]
    ctx = {"page": page, "rows": rows, "query": other_params(request), "statuses": STATUS_NAMES,
           "form": form, "q": query, "counts_as_of": min(as_of) if as_of else None}
    return render(request, "mailer/outbox_list.html", ctx)


@require_GET
@sitewide_required
def outbox_message(request: HttpRequest, public_id: str) -> HttpResponse:
    message = get_object_or_404(Message, public_id=public_id)
    status = request.GET.get("status", "")
    if status and status not in STATUS_NAMES:
        return HttpResponseBadRequest(f"Unknown status {status!r}: use one of {', '.join(STATUS_NAMES)}.")
    # "message" too: the related manager reads each row's message_id to attach the message,
    # one query per row when it is deferred.
    deliveries = message.deliveries.order_by("pk").only(
        "pk", "message", "recipient", "status", "attempts", "last_error", "sent_at", "not_before")
    if status:
        deliveries = deliveries.filter(status=status)
    # Any copy will do (only shared values are shown): the (message, recipient) index finds one.
    sample = message.deliveries.order_by("recipient").values_list("context", flat=True).first()
    ctx = {"message": message, "subject": shown.subject(message, sample), "status": status,
           "statuses": STATUS_NAMES, "query": other_params(request),
           "page": Paginator(deliveries, RECIPIENTS_PER_PAGE).get_page(request.GET.get("page"))}
    return render(request, "mailer/outbox_message.html", ctx)


def _copy_bytes(delivery: Delivery) -> tuple[bytes | None, bool, str]:
    """The stored copy, or a preview built now for a copy not sent yet; and any build error."""
    if delivery.stored is not None:
        return bytes(delivery.stored), False, ""
    try:
        prepared = prepare(delivery.message)
        data = prepared.personalize(delivery.pk, delivery.recipient, delivery.full_context(),
                                    delivery.rfc_message_id)
    except (HeaderError, ValueError) as exc:
        return None, True, str(exc)
    return data, True, ""


def _part(mail: EmailMessage, kind: str) -> str:
    body = mail.get_body((kind,))
    return body.get_content() if body is not None else ""


def _show_copy(request: HttpRequest, public_id: str, delivery_id: int, revealed: bool) -> HttpResponse:
    """A copy as a mail client shows it; the learner's links have their tokens hidden unless revealed."""
    delivery = get_object_or_404(Delivery.objects.select_related("message"), pk=delivery_id,
                                 message__public_id=public_id)
    data, preview, error = _copy_bytes(delivery)
    ctx = {"delivery": delivery, "message": delivery.message, "preview": preview, "error": error,
           "subject": shown.subject(delivery.message, delivery.context),
           "revealed": revealed, "can_reveal": is_organizer(request.user)}
    if data is not None:
        mail = message_from_bytes(data, policy=policy.default)
        visible = (lambda text: text) if revealed else redact_text
        ctx.update(headers=[(k, visible(str(v))) for k, v in mail.raw_items()], text=visible(_part(mail, "plain")),
                   html=visible(_part(mail, "html")), size=len(data))
    return render(request, "mailer/outbox_copy.html", ctx)


@require_GET
@sitewide_required
def outbox_copy(request: HttpRequest, public_id: str, delivery_id: int) -> HttpResponse:
    return _show_copy(request, public_id, delivery_id, revealed=False)


@require_POST
@sitewide_required
def outbox_reveal(request: HttpRequest, public_id: str, delivery_id: int) -> HttpResponse:
    """One copy with its links working, for an organizer who needs them; recorded in the audit log."""
    delivery = get_object_or_404(Delivery, pk=delivery_id, message__public_id=public_id)
    record(request.user, "outbox.links_revealed", delivery,
           f"Showed the links of the copy to {delivery.recipient}", message=str(public_id))
    return _show_copy(request, public_id, delivery_id, revealed=True)


@require_GET
@sitewide_required
def outbox_source(request: HttpRequest, public_id: str, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery.objects.select_related("message"), pk=delivery_id,
                                 message__public_id=public_id)
    data, _, error = _copy_bytes(delivery)
    if data is None:
        return HttpResponseBadRequest(f"This copy cannot be built: {error}")
    response = HttpResponse(redact_message(data), content_type="text/plain; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
