from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mmooc.courses.models import Course
from mmooc.testing import make_cohort

DEMO = Path(__file__).resolve().parents[1] / "demo" / "gentle-python"
pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("course", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_it_imports_a_folder():
    out = _run("import", str(DEMO))
    assert "course gentle-python" in out
    assert Course.objects.get(slug="gentle-python").modules.count() == 7


def test_it_imports_emails_into_a_cohort():
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"), slug="py-1")
    _run("import", str(DEMO), "--cohort", "py-1")
    assert cohort.emails.count() == 10


def test_it_changes_nothing_on_a_dry_run():
    assert "Dry run" in _run("import", str(DEMO), "--dry-run")
    assert not Course.objects.exists()


def test_it_lists_the_problems_and_fails(tmp_path):
    (tmp_path / "course.yaml").write_text("slug: x\ntitle: X\ncolour: red\n")
    out = StringIO()
    with pytest.raises(CommandError, match="1 problem; nothing was changed"):
        call_command("course", "import", str(tmp_path), stdout=out, stderr=out)
    assert "course.yaml:3: unknown key 'colour'" in out.getvalue()
    assert not Course.objects.exists()


def test_it_refuses_an_unknown_cohort():
    with pytest.raises(CommandError, match="No cohort 'nope'"):
        _run("import", str(DEMO), "--cohort", "nope")
    assert not Course.objects.exists()


def test_it_exports_a_course(tmp_path):
    _run("import", str(DEMO))
    assert "Wrote 8 files" in _run("export", "gentle-python", str(tmp_path / "out"))
    assert (tmp_path / "out" / "course.yaml").read_text().startswith("slug: gentle-python")
