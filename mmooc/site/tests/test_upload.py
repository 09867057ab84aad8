from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mmooc.audit.models import AuditEntry
from mmooc.courses.models import Course

DEMO = Path(__file__).resolve().parents[1] / "demo" / "gentle-python"
pytestmark = [pytest.mark.django_db,
              pytest.mark.cohort(slug="py-1", course={"slug": "gentle-python", "title": "x", "modules": 0})]


def _zip(files: dict[str, bytes]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return SimpleUploadedFile("course.zip", buffer.getvalue(), content_type="application/zip")


def _demo_zip() -> SimpleUploadedFile:
    return _zip({f"gentle-python/{p.relative_to(DEMO)}": p.read_bytes() for p in DEMO.rglob("*") if p.is_file()})




def _post(client, upload, dry_run=False):
    data = {"folder": upload}
    if dry_run:
        data["dry_run"] = "on"
    return client.post("/dashboard/cohorts/py-1/emails/upload", data)


def test_it_imports_an_uploaded_folder(client, organizer, cohort):
    client.force_login(organizer)
    response = _post(client, _demo_zip())
    assert response.status_code == 200
    assert cohort.emails.count() == 10 and cohort.course.modules.count() == 7
    assert AuditEntry.objects.filter(action="course.imported").exists()


def test_it_only_checks_on_a_dry_run(client, organizer, cohort):
    client.force_login(organizer)
    response = _post(client, _demo_zip(), dry_run=True)
    assert "would be added" in response.content.decode()
    assert not cohort.emails.exists()


def test_it_lists_the_problems_and_changes_nothing(client, organizer, cohort):
    client.force_login(organizer)
    response = _post(client, _zip({"course.yaml": b"slug: gentle-python\ntitle: X\ncolor: red\n"}))
    assert response.status_code == 400
    assert "course.yaml:3: unknown key" in response.content.decode()
    assert Course.objects.get().title == "x"


@pytest.mark.parametrize("name", ["../evil/course.yaml", "/etc/course.yaml"])
def test_it_refuses_unsafe_paths(client, organizer, cohort, name):
    client.force_login(organizer)
    response = _post(client, _zip({name: b"slug: gentle-python\ntitle: Evil\n"}))
    assert response.status_code == 400 and "unsafe path" in response.content.decode()
    assert Course.objects.get().title == "x"


def test_it_refuses_what_is_not_a_zip(client, organizer, cohort):
    client.force_login(organizer)
    response = _post(client, SimpleUploadedFile("c.zip", b"hello"))
    assert response.status_code == 400 and "not a zip file" in response.content.decode()
    assert not cohort.emails.exists() and not cohort.course.modules.exists() and not AuditEntry.objects.exists()


def test_it_refuses_facilitators(client, facilitator, cohort):
    client.force_login(facilitator)
    assert _post(client, _demo_zip()).status_code == 403
    assert not cohort.emails.exists()


def test_it_refuses_get(client, organizer, cohort):
    client.force_login(organizer)
    assert client.get("/dashboard/cohorts/py-1/emails/upload").status_code == 405
    assert not cohort.emails.exists() and not AuditEntry.objects.exists()
