"""Staff pages for the suppression list: see, search, add, remove, import, export.

Facilitators see the list; only organizers change it or export it. Every change is
recorded in the audit log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from email_validator import EmailNotValidError, validate_email

from mmooc.audit.log import record
from mmooc.lib.downloads import CSV, csv_lines, download, uninert
from mmooc.lib.paging import other_params
from mmooc.lib.staff import is_organizer, sitewide_required
from mmooc.mailer import breaker
from mmooc.mailer.events import unmatched_count
from mmooc.mailer.models import Suppression
from mmooc.mailer.signals import suppressed
from mmooc.mailer.suppression import (
    HASHED_LABEL,
    lookup_keys,
    normalize,
    row_for,
    shown,
    suppress,
    suppressed_among,
    unsuppress,
)

PAGE_SIZE = 100
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_ERRORS_SHOWN = 50
CHUNK = 500
REASON_CODES = {code for code, _ in Suppression.REASONS}
REASON_LABELS = {label.lower(): code for code, label in Suppression.REASONS}


def check_address(value: str) -> str:
    """A usable address, lower-cased; ValueError with a reason an organizer understands."""
    try:
        info = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return normalize(info.normalized)


class AddressField(forms.CharField):
    def clean(self, value: str) -> str:
        value = super().clean(value)
        try:
            return check_address(value)
        except ValueError as exc:
            raise forms.ValidationError(_("{value} is not a usable email address: {reason}").format(
                value=repr(value), reason=exc)) from None


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=254)
    page = forms.IntegerField(required=False, min_value=1)


class AddForm(forms.Form):
    address = AddressField(max_length=254)
    detail = forms.CharField(max_length=500, label=gettext_lazy("Why"),
                             error_messages={"required": "Say why this address must not be mailed."})

    def clean_detail(self) -> str:
        detail: str = self.cleaned_data["detail"].strip()
        if not detail:
            raise forms.ValidationError(_("Say why this address must not be mailed."))
        return detail


class RemoveForm(forms.Form):
    address = forms.CharField(max_length=254)
    reason = forms.CharField(max_length=500, error_messages={
        "required": "Say why this address may be mailed again."})

    def clean_address(self) -> str:
        address = normalize(self.cleaned_data["address"])
        if row_for(address) is None:
            raise forms.ValidationError(_("{address} is not on the suppression list.").format(address=address))
        return address

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why this address may be mailed again."))
        return reason


class ImportForm(forms.Form):
    file = forms.FileField(error_messages={"required": "Choose a CSV file to import."})

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB; split it into smaller files."))
        return bytes(upload.read())


def _listing(q: str) -> Q:
    """Rows whose address or detail holds the text; an erased learner's row (a keyed hash)
    only when the whole address is asked for."""
    if not q:
        return Q()
    return Q(address__icontains=q) | Q(detail__icontains=q) | Q(address__in=lookup_keys([q]))


def _index_ctx(request: HttpRequest, search: SearchForm, **extra: object) -> dict[str, object]:
    q = search.cleaned_data.get("q", "").strip() if search.is_valid() else ""
    rows = Suppression.objects.filter(_listing(q)).order_by("-created_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(search.cleaned_data.get("page") if search.is_valid() else 1)
    by_reason = {label: Suppression.objects.filter(reason=code).count() for code, label in Suppression.REASONS}
    ctx = {"page": page, "query": other_params(request), "q": q, "total": Suppression.objects.count(),
           "by_reason": by_reason,
           "can_change": is_organizer(request.user), "unmatched": unmatched_count(),
           "add_form": AddForm(), "remove_form": RemoveForm(),
           "paused_domains": sorted((d, max(1, round(left / 60))) for d, left in breaker.paused().items()),
           "pause_after": settings.MAIL_DOMAIN_PAUSE_AFTER,
           "pause_window": round(settings.MAIL_DOMAIN_PAUSE_WINDOW / 60),
           "pause_minutes": round(settings.MAIL_DOMAIN_PAUSE_SECONDS / 60)}
    ctx.update(extra)
    return ctx


@require_GET
@sitewide_required
def index(request: HttpRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    status = 200 if search.is_valid() else 400
    ctx = _index_ctx(request, search)
    return render(request, "mailer/suppressions.html", ctx, status=status)


@require_POST
@sitewide_required
def add(request: HttpRequest) -> HttpResponse:
    form = AddForm(request.POST)
    if form.is_valid() and row_for(form.cleaned_data["address"]) is not None:
        form.add_error("address", _("{address} is already on the suppression list.").format(
            address=form.cleaned_data["address"]))
    if not form.is_valid():
        ctx = _index_ctx(request, SearchForm({}), add_form=form)
        return render(request, "mailer/suppressions.html", ctx, status=400)
    with transaction.atomic():
        suppress(form.cleaned_data["address"], Suppression.MANUAL, form.cleaned_data["detail"],
                 actor=request.user)
    return redirect("mailer_suppression:index")


@require_POST
@sitewide_required
def remove(request: HttpRequest) -> HttpResponse:
    form = RemoveForm(request.POST)
    if not form.is_valid():
        ctx = _index_ctx(request, SearchForm({}), remove_form=form)
        return render(request, "mailer/suppressions.html", ctx, status=400)
    unsuppress(form.cleaned_data["address"], form.cleaned_data["reason"], actor=request.user)
    return redirect("mailer_suppression:index")


@require_POST
@sitewide_required
def resume_domain(request: HttpRequest) -> HttpResponse:
    domain = request.POST.get("domain", "")[:255]
    if not breaker.resume(domain, request.user):
        ctx = _index_ctx(request, SearchForm({}), resume_error=f"Sending to {domain or 'that domain'} is not paused.")
        return render(request, "mailer/suppressions.html", ctx, status=400)
    return redirect(reverse("mailer_suppression:index") + "#paused-domains")


# Import ----------------------------------------------------------------------------------

@dataclass
class ImportResult:
    rows: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    already: int = 0


def _reason(value: str) -> str | None:
    value = value.strip().lower()
    if not value:
        return Suppression.MANUAL
    return value if value in REASON_CODES else REASON_LABELS.get(value)


def _is_header(row: list[str]) -> bool:
    return bool(row) and row[0].strip().lower() in ("address", "email", "email address")


def _read_row(line: int, row: list[str], seen: set[str], result: ImportResult) -> None:
    cells = [uninert(c.strip()) for c in row]  # an exported file reads back as it was
    if not any(cells) or cells[0].lower() == HASHED_LABEL:  # an erased learner's row of an export: kept here
        return
    if len(cells) > 2:
        result.errors.append(f"Line {line}: expected address[,reason], found {len(cells)} columns.")
        return
    try:
        address = check_address(cells[0])
    except ValueError as exc:
        result.errors.append(f"Line {line}: {cells[0]!r} is not a usable email address: {exc}")
        return
    reason = _reason(cells[1] if len(cells) > 1 else "")
    if reason is None:
        codes = ", ".join(sorted(REASON_CODES))
        result.errors.append(f"Line {line}: unknown reason {cells[1]!r} (use one of: {codes}).")
    elif address not in seen:
        seen.add(address)
        result.rows.append((address, reason))


def read_import(data: bytes) -> ImportResult:
    """Every row checked before anything is written; errors name their line."""
    result = ImportResult()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        result.errors.append("The file is not UTF-8 text; save it as CSV (UTF-8) and try again.")
        return result
    seen: set[str] = set()
    try:
        for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not (n == 1 and _is_header(row)):
                _read_row(n, row, seen, result)
    except csv.Error as exc:
        result.errors.append(f"The file is not readable as CSV: {exc}")
    if not result.rows and not result.errors:
        result.errors.append("The file holds no addresses.")
    return result


def _listed(addresses: list[str]) -> set[str]:
    """The addresses already suppressed, by address or by an erased learner's keyed hash."""
    return suppressed_among(addresses)


def apply_import(result: ImportResult, actor: object) -> int:
    """Add the new addresses in bulk; each still sends `suppressed` for the learners app."""
    with transaction.atomic():
        listed = _listed([a for a, _ in result.rows])
        new = [Suppression(address=a, reason=r, detail="Imported by staff")
               for a, r in result.rows if a not in listed]
        result.already = len(result.rows) - len(new)
        created = Suppression.objects.bulk_create(new, batch_size=CHUNK)
        for row in created:
            suppressed.send(sender=Suppression, suppression=row)
        record(actor, "suppression.imported", None,
               f"Imported {len(created)} suppressed address{'es' if len(created) != 1 else ''}",
               added=len(created), already=result.already)
    return len(created)


@require_http_methods(["GET", "POST"])
@sitewide_required
def import_csv(request: HttpRequest) -> HttpResponse:
    ctx: dict[str, Any] = {"form": ImportForm(), "errors": [], "added": None}
    if request.method == "GET":
        return render(request, "mailer/suppression_import.html", ctx)
    form = ImportForm(request.POST, request.FILES)
    result = read_import(form.cleaned_data["file"]) if form.is_valid() else None
    if result is None or result.errors:
        errors = result.errors if result else []
        ctx.update(form=form, errors=errors[:MAX_ERRORS_SHOWN], error_count=len(errors))
        return render(request, "mailer/suppression_import.html", ctx, status=400)
    try:
        ctx["added"] = apply_import(result, request.user)
    except IntegrityError:  # an address was added elsewhere meanwhile: nothing was imported
        ctx.update(form=form, errors=["The list changed while importing; nothing was imported. "
                                      "Upload the file again."], error_count=1)
        return render(request, "mailer/suppression_import.html", ctx, status=409)
    ctx["already"] = result.already
    return render(request, "mailer/suppression_import.html", ctx)


# Export ----------------------------------------------------------------------------------

def _rows() -> Iterator[tuple[Any, ...]]:
    rows = Suppression.objects.order_by("address").values_list("address", "reason", "detail", "created_at")
    # Details quote bounces from anywhere: csv_lines makes them inert. An erased learner's row
    # reads "erased learner (hashed)", which an import skips.
    return ((shown(a), *rest) for a, *rest in rows.iterator(chunk_size=2000))


@require_GET
@sitewide_required
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    record(request.user, "export.downloaded", None, "Downloaded the suppression list", what="suppressions")
    stamp = timezone.now().strftime("%Y%m%d")
    return download(csv_lines(["address", "reason", "detail", "created_at"], _rows()), CSV,
                    f"suppressions-{stamp}.csv")
