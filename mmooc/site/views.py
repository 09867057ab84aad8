"""The site's own pages: /healthz, and the upload of a whole course folder."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mmooc.courses.access import cohort_or_404
from mmooc.emails.forms import UploadForm
from mmooc.lib.folderfiles import FolderError
from mmooc.lib.staff import organizer_required
from mmooc.mailer import health
from mmooc.site.folders import import_folder


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and mail is moving; 503 when the database is down, or mail
    is due and no delivery engine has beaten within MMOOC_HEALTH_ENGINE_STALE seconds."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        engine = health.state()
    except DatabaseError as exc:
        return JsonResponse({"database": "error", "detail": str(exc).splitlines()[0][:200]}, status=503)
    body = {"database": "ok", "vendor": connection.vendor, "engine": engine}
    return JsonResponse(body, status=503 if engine["stale"] else 200)


# ---------------------------------------------------------------- course folder upload

MAX_ZIP_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_FILES = 500


class UploadError(ValueError):
    pass


def _unpack(upload: Any, target: Path) -> Path:
    """Unpack an uploaded zip safely; returns the folder holding course.yaml."""
    if upload.size > MAX_ZIP_BYTES:
        raise UploadError(f"The zip file is larger than {MAX_ZIP_BYTES // 1024 // 1024} MB.")
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile:
        raise UploadError(_("This is not a zip file.")) from None
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_FILES:
        raise UploadError(f"The zip holds more than {MAX_FILES} files.")
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise UploadError(f"Unpacked, the zip would take more than {MAX_UNPACKED_BYTES // 1024 // 1024} MB.")
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in info.filename or ":" in info.filename:
            raise UploadError(f"The zip holds a file with an unsafe path: {info.filename!r}.")
        if name.name.startswith(".") or "__MACOSX" in name.parts:
            continue
        path = target.joinpath(*name.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src:
            path.write_bytes(src.read(MAX_UNPACKED_BYTES + 1))
    for candidate in (target, *sorted(p for p in target.iterdir() if p.is_dir())):
        if (candidate / "course.yaml").is_file():
            return candidate
    raise UploadError(_("The zip has no course.yaml, at its top or in one folder."))


@organizer_required
@require_POST
def upload_folder(request: HttpRequest, cohort: str) -> HttpResponse:
    """Import a zipped course folder into this cohort's course, and its emails into this cohort."""
    c = cohort_or_404(cohort, request.user)
    form = UploadForm(request.POST, request.FILES)
    ctx: dict[str, Any] = {"cohort": c, "section": "emails", "problems": [], "report": None}
    if not form.is_valid():
        ctx["problems"] = ["Choose a .zip file of the course folder."]
        return render(request, "site/upload.html", ctx, status=400)
    with tempfile.TemporaryDirectory(prefix="mmooc-upload-") as tmp:
        try:
            root = _unpack(form.cleaned_data["folder"], Path(tmp))
            ctx["report"] = import_folder(root, cohort=c, dry_run=form.cleaned_data["dry_run"], actor=request.user)
        except UploadError as exc:
            ctx["problems"] = [str(exc)]
        except FolderError as exc:
            ctx["problems"] = exc.problems
    return render(request, "site/upload.html", ctx, status=400 if ctx["problems"] else 200)
