"""Staff pages for a cohort's learners: list, detail, CSV import (the exports are the dashboard's)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from mmooc.audit.log import record
from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.learners import importer, lifecycle
from mmooc.learners.models import Learner
from mmooc.learners.sections import staff_groups
from mmooc.learners.validation import LANGUAGES
from mmooc.lib import subjects
from mmooc.lib.paging import other_params
from mmooc.lib.staff import is_organizer, organizer_required, staff_required
from mmooc.mailer.models import Delivery

PAGE_SIZE = 100
# Past this many groups the filter asks for a group's number instead of listing them all
# (a cohort of a million learners has 17,000 groups: their options took 0.4 s a page).
GROUP_CHOICES = 200


def filtered(cohort: Cohort, params: Any, learners: QuerySet[Learner] | None = None) -> QuerySet[Learner]:
    """The learners matching the list's filters, among `learners` (default: the whole cohort)."""
    qs = Learner.objects.filter(cohort=cohort) if learners is None else learners
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
        qs = qs.exclude(pk__in=staff_groups().members(cohort, None))
    elif group.isdigit():
        qs = qs.filter(pk__in=staff_groups().members(cohort, int(group)))
    return qs.order_by("-signed_up_at", "-id")


@staff_required
@require_GET
def learner_list(request: HttpRequest, cohort: str) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    visible = staff_groups().learners_for(request.user, cohort_obj)
    qs = filtered(cohort_obj, request.GET, visible)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {
        "cohort": cohort_obj, "page": page, "params": request.GET, "query": other_params(request),
        "states": Learner.STATES, "languages": LANGUAGES,
        "zones": visible.values_list("timezone", flat=True)
        .distinct().order_by("timezone"),
        "groups": _group_choices(request.user, cohort_obj),
        "organizer": is_organizer(request.user),
    }
    return render(request, "learners/staff_list.html", ctx)


def _group_choices(user: Any, cohort: Cohort) -> list[tuple[int, str]] | None:
    """The groups the filter lists, or None when there are too many to list (a number is asked for)."""
    found = staff_groups().choices_for(user, cohort, limit=GROUP_CHOICES + 1)
    return None if len(found) > GROUP_CHOICES else found


def _answer_text(value: Any) -> str:
    """An answer as a reader expects it: a list as items, a yes/no as Yes or No."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_answer_text(v) for v in value) or "—"
    if value is None or value == "":
        return "—"
    return str(value)


def _answers(learner: Learner, cohort: Cohort) -> list[tuple[str, str]]:
    """The learner's answers under each question's label, in the course's order of questions."""
    labels = {q.get("id"): q.get("label") or q.get("id") for q in cohort.course.questions}
    answers = learner.answers or {}
    order = [qid for qid in labels if qid in answers] + [qid for qid in answers if qid not in labels]
    return [(labels.get(qid) or qid, _answer_text(answers[qid])) for qid in order]


@staff_required
@require_GET
def learner_detail(request: HttpRequest, cohort: str, public_id: uuid.UUID) -> HttpResponse:
    cohort_obj = cohort_or_404(cohort, request.user)
    learner = get_object_or_404(staff_groups().learners_for(request.user, cohort_obj), public_id=public_id)
    deliveries = (Delivery.objects.filter(ref=str(learner.public_id)).select_related("message")
                  .defer("stored", "message__raw", "message__body").order_by("-id"))
    # Each copy's subject as this learner read it.
    rows = [(d, subjects.shown(d.message.subject, d.context)) for d in deliveries]
    ctx = {"cohort": cohort_obj, "learner": learner, "deliveries": rows,
           "group": staff_groups().last_group(learner),
           "unsubscribes": learner.unsubscribes.order_by("-created_at"),
           "history": lifecycle.history(learner), "aliases": lifecycle.aliases(learner),
           "answers": _answers(learner, cohort_obj),
           "organizer": is_organizer(request.user)}
    return render(request, "learners/staff_detail.html", ctx)


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
    cohort_obj = cohort_or_404(cohort, request.user)
    ctx: dict[str, Any] = {"cohort": cohort_obj, "questions": cohort_obj.course.questions}
    if request.method == "GET":
        return render(request, "learners/staff_import.html", ctx)
    if "upload" in request.POST:
        path = _stored(request.POST["upload"])
    elif (uploaded := request.FILES.get("file")) is not None:
        path = _upload_dir() / f"{uuid.uuid4().hex}.csv"
        with path.open("wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
    else:
        ctx["error"] = "Choose a CSV file to upload."
        return render(request, "learners/staff_import.html", ctx, status=400)
    return _import_step(request, cohort_obj, path, ctx)


def _import_step(request: HttpRequest, cohort: Cohort, path: Path, ctx: dict[str, Any]) -> HttpResponse:
    try:
        report = importer.read(path.read_bytes(), cohort)
    except importer.ImportFileError as exc:
        path.unlink(missing_ok=True)
        ctx["error"] = str(exc)
        return render(request, "learners/staff_import.html", ctx, status=400)
    ctx.update(report=report, upload=path.stem, errors=report.errors[:importer.MAX_ERRORS_SHOWN])
    if not report.ok:
        path.unlink(missing_ok=True)
        return render(request, "learners/staff_import.html", ctx, status=400)
    if request.POST.get("action") != "import":
        return render(request, "learners/staff_import.html", ctx)
    consented = request.POST.get("consented") == "yes"
    count = importer.apply(report, cohort, consented=consented)
    path.unlink(missing_ok=True)
    record(request.user, "learners.imported", cohort, f"Imported {count} learners into {cohort.slug}",
           count=count, consented=consented, already=report.already)
    ctx.update(imported=count, consented=consented)
    return render(request, "learners/staff_import.html", ctx)
