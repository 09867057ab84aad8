"""Staff pages for a cohort's learners: list, detail, CSV import, CSV/JSON export."""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from mmooc.audit.log import record
from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.learners import importer
from mmooc.learners.models import Learner
from mmooc.learners.validation import LANGUAGES
from mmooc.lib.staff import is_organizer, organizer_required, staff_required

PAGE_SIZE = 100
EXPORT_FIELDS = ["public_id", "email", "name", "state", "timezone", "country", "language", "wants_group",
                 "source", "signed_up_at", "confirmed_at", "left_at", "unsubscribed_at", "answers"]




def filtered(cohort: Cohort, params: Any) -> QuerySet[Learner]:
    qs = Learner.objects.filter(cohort=cohort)
    if q := params.get("q", "").strip():
        qs = qs.filter(Q(email_key__contains=q.lower()) | Q(name__icontains=q))
    if state := params.get("state"):
        qs = qs.filter(state=state)
    if tz := params.get("timezone"):
        qs = qs.filter(timezone=tz)
    if language := params.get("language"):
        qs = qs.filter(language=language)
    group = params.get("group", "")
    if group == "none":
        grouped = Learner.objects.filter(cohort=cohort, memberships__isnull=False,
                                         memberships__left_at__isnull=True).values("pk")
        qs = qs.exclude(pk__in=grouped)
    elif group.isdigit():
        qs = qs.filter(memberships__group__number=int(group), memberships__left_at__isnull=True)
    return qs.order_by("-signed_up_at", "-id")


@staff_required
@require_GET
def learner_list(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort)
    qs = filtered(cohort_obj, request.GET)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {
        "cohort": cohort_obj, "page": page, "params": request.GET, "query": query.urlencode(),
        "states": Learner.STATES, "languages": LANGUAGES,
        "zones": Learner.objects.filter(cohort=cohort_obj).values_list("timezone", flat=True)
        .distinct().order_by("timezone"),
        "groups": cohort_obj.groups.order_by("number").values_list("number", "name"),
        "organizer": is_organizer(request.user),
    }
    return render(request, "learners/staff_list.html", {"ctx": ctx})


@staff_required
@require_GET
def learner_detail(request: HttpRequest, cohort: str, public_id: uuid.UUID) -> HttpResponse:
    from mmooc.mailer.models import Delivery

    cohort_obj = cohort_or_404(cohort)
    learner = get_object_or_404(Learner, cohort=cohort_obj, public_id=public_id)
    deliveries = (Delivery.objects.filter(ref=str(learner.public_id)).select_related("message")
                  .defer("stored", "context", "message__raw", "message__body").order_by("-id"))
    membership = learner.memberships.select_related("group").order_by("-joined_at").first()
    ctx = {"cohort": cohort_obj, "learner": learner, "deliveries": deliveries, "membership": membership,
           "unsubscribes": learner.unsubscribes.order_by("-created_at"),
           "questions": {q.get("id"): q.get("label") for q in cohort_obj.course.questions},
           "organizer": is_organizer(request.user)}
    return render(request, "learners/staff_detail.html", {"ctx": ctx})


# Import -------------------------------------------------------------------------------


def _upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def purge_uploads(max_age: float = 86400.0) -> int:
    """Forget uploaded CSV files whose import was never finished (older than a day)."""
    removed = 0
    cutoff = time.time() - max_age
    for path in _upload_dir().glob("*.csv"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _stored(upload_id: str) -> Path:
    try:
        name = uuid.UUID(hex=upload_id).hex
    except ValueError:
        raise Http404("No such upload.") from None
    path = _upload_dir() / f"{name}.csv"
    if not path.exists():
        raise Http404("No such upload; please upload the file again.")
    return path


@organizer_required
@require_http_methods(["GET", "POST"])
def import_csv(request: HttpRequest, cohort: str) -> HttpResponse:
    """Upload → preview with every bad row → import, all or nothing."""
    cohort_obj = cohort_or_404(cohort)
    ctx: dict[str, Any] = {"cohort": cohort_obj, "questions": cohort_obj.course.questions}
    if request.method == "GET":
        return render(request, "learners/staff_import.html", {"ctx": ctx})
    if "upload" in request.POST:
        path = _stored(request.POST["upload"])
    elif (uploaded := request.FILES.get("file")) is not None:
        path = _upload_dir() / f"{uuid.uuid4().hex}.csv"
        with path.open("wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
    else:
        ctx["error"] = "Choose a CSV file to upload."
        return render(request, "learners/staff_import.html", {"ctx": ctx}, status=400)
    return _import_step(request, cohort_obj, path, ctx)


def _import_step(request: HttpRequest, cohort: Cohort, path: Path, ctx: dict[str, Any]) -> HttpResponse:
    try:
        report = importer.read(path.read_bytes(), cohort)
    except importer.ImportFileError as exc:
        path.unlink(missing_ok=True)
        ctx["error"] = str(exc)
        return render(request, "learners/staff_import.html", {"ctx": ctx}, status=400)
    ctx.update(report=report, upload=path.stem, errors=report.errors[:importer.MAX_ERRORS_SHOWN])
    if not report.ok:
        path.unlink(missing_ok=True)
        return render(request, "learners/staff_import.html", {"ctx": ctx}, status=400)
    if request.POST.get("action") != "import":
        return render(request, "learners/staff_import.html", {"ctx": ctx})
    consented = request.POST.get("consented") == "yes"
    count = importer.apply(report, cohort, consented=consented)
    path.unlink(missing_ok=True)
    record(request.user, "learners.imported", cohort, f"Imported {count} learners into {cohort.slug}",
           count=count, consented=consented, already=report.already)
    ctx.update(imported=count, consented=consented)
    return render(request, "learners/staff_import.html", {"ctx": ctx})


# Export -------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_rows(cohort: Cohort) -> Iterator[dict[str, Any]]:
    qs = Learner.objects.filter(cohort=cohort).order_by("id").values(*EXPORT_FIELDS)
    for row in qs.iterator(chunk_size=2000):
        row["public_id"] = str(row["public_id"])
        for name in ("signed_up_at", "confirmed_at", "left_at", "unsubscribed_at"):
            row[name] = row[name].isoformat() if row[name] else ""
        yield row


def _csv_stream(cohort: Cohort) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for row in _export_rows(cohort):
        row["answers"] = json.dumps(row["answers"], ensure_ascii=False) if row["answers"] else ""
        yield writer.writerow([row[name] for name in EXPORT_FIELDS])


def _json_stream(cohort: Cohort) -> Iterator[str]:
    yield "["
    for n, row in enumerate(_export_rows(cohort)):
        yield ("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"


@organizer_required
@require_GET
def export(request: HttpRequest, cohort: str, fmt: str) -> StreamingHttpResponse:
    cohort_obj = cohort_or_404(cohort)
    if fmt not in ("csv", "json"):
        raise Http404("Export as csv or json.")
    record(request.user, "learners.exported", cohort_obj, f"Exported the learners of {cohort_obj.slug} as {fmt}")
    stream = _csv_stream(cohort_obj) if fmt == "csv" else _json_stream(cohort_obj)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = StreamingHttpResponse(stream, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{cohort_obj.slug}-learners.{fmt}"'
    return response
