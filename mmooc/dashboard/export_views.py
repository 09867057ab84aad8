"""Export downloads (organizers only: they hold personal data); each one is audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from mmooc.audit.log import record
from mmooc.courses.access import cohort_or_404
from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup
from mmooc.groups.staff_views import get_group
from mmooc.lib.staff import organizer_required

from . import exports

# name: (content type, generator of the file's chunks)
FILES: dict[str, tuple[str, Callable[[Cohort], Iterator[str]]]] = {
    "learners.csv": ("text/csv; charset=utf-8", exports.learners_csv),
    "learners.json": ("application/json", exports.learners_json),
    "groups.csv": ("text/csv; charset=utf-8", exports.groups_csv),
    "deliveries.csv": ("text/csv; charset=utf-8", exports.deliveries_csv),
}


def _download(chunks: Iterator[bytes], content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@organizer_required
def export_index(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = cohort_or_404(slug)
    groups = StudyGroup.objects.filter(cohort=cohort).order_by("number")
    ctx = {"cohort": cohort, "files": list(FILES), "groups": groups}
    return render(request, "dashboard/exports.html", ctx)


@require_GET
@organizer_required
def export_file(request: HttpRequest, slug: str, name: str) -> StreamingHttpResponse:
    cohort = cohort_or_404(slug)
    content_type, generator = FILES[name]  # the URL pattern only admits these names
    record(request.user, "export.downloaded", cohort, f"Downloaded {name} of {cohort.slug}", export=name)
    return _download(exports.batched(generator(cohort)), content_type, f"{cohort.slug}-{name}")


@require_GET
@organizer_required
def export_mbox(request: HttpRequest, slug: str, number: int) -> StreamingHttpResponse:
    cohort = cohort_or_404(slug)
    group = get_group(cohort, number)
    record(request.user, "export.downloaded", group,
           f"Downloaded the archive of {group.name} ({cohort.slug})", export=f"group-{number}.mbox")
    return _download(exports.batched(exports.mbox(group)), "application/mbox",
                     f"{cohort.slug}-group-{number}.mbox")


@require_GET
@organizer_required
def export_zip(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    cohort = cohort_or_404(slug)
    now = timezone.now()
    spool = exports.cohort_zip(cohort, now)
    record(request.user, "export.downloaded", cohort, f"Downloaded everything of {cohort.slug} as a zip",
           export="cohort.zip")
    return _download(exports.file_chunks(spool), "application/zip",
                     f"{cohort.slug}-{now.strftime('%Y%m%d-%H%M')}.zip")
