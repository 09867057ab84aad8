"""Course emails per language in a course folder: emails/<language>/<name>.md beside emails/<name>.md."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmooc.courses.models import Course
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.lib.folderfiles import MAX_FILE_BYTES, FolderError
from mmooc.site.folders import export_folder, import_folder
from mmooc.testing import make_cohort

DEMO = Path(__file__).resolve().parents[1] / "demo" / "gentle-python"

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "gentle-python"
    shutil.copytree(DEMO, path)
    return path


@pytest.fixture
def cohort():
    return make_cohort(Course.objects.create(slug="gentle-python", title="x"))


def _state():
    return (CourseEmail.objects.count(), sorted(CourseEmailVariant.objects.values_list("language", "subject", "body")))


def _rejected(folder, cohort) -> list[str]:
    before = _state()
    with pytest.raises(FolderError) as info:
        import_folder(folder, cohort=cohort)
    assert _state() == before
    return info.value.problems


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_demo_ships_spanish_variants_of_its_first_two_weeks(cohort):
    import_folder(DEMO, cohort=cohort)
    variants = {(v.email.key, v.language): v for v in CourseEmailVariant.objects.select_related("email")}
    assert set(variants) == {("01-getting-started", "es"), ("02-functions", "es")}
    week2 = variants[("02-functions", "es")]
    assert week2.subject.startswith("Semana 2 de") and "Hola, {{ learner.first_name }}" in week2.body
    assert week2.email.module.position == 2  # the rest is the email's


def test_variants_export_byte_identical_and_import_back_unchanged(cohort, tmp_path):
    import_folder(DEMO, cohort=cohort)
    written = export_folder(Course.objects.get(slug="gentle-python"), tmp_path / "out", cohort=cohort)
    assert "emails/es/02-functions.md" in written
    assert _tree(tmp_path / "out") == _tree(DEMO)
    assert import_folder(tmp_path / "out", cohort=cohort).unchanged


def test_a_variant_edited_in_the_database_exports_and_imports_back(cohort, tmp_path):
    import_folder(DEMO, cohort=cohort)
    CourseEmailVariant.objects.create(email=cohort.emails.get(key="farewell"), language="pt-br",
                                      subject="Até logo", body="Obrigado, {{ learner.first_name }}!")
    export_folder(Course.objects.get(slug="gentle-python"), tmp_path / "out", cohort=cohort)
    assert (tmp_path / "out/emails/pt-br/farewell.md").read_text().startswith("---\nsubject: Até logo\n---\n")
    assert import_folder(tmp_path / "out", cohort=cohort).unchanged


def test_pt_BR_names_the_brazilian_portuguese_folder_and_changes_are_reported(folder, cohort):
    import_folder(folder, cohort=cohort)
    (folder / "emails/pt_BR").mkdir()
    (folder / "emails/pt_BR/farewell.md").write_text("---\nsubject: Até logo\n---\nObrigado!\n")
    shutil.rmtree(folder / "emails/es")
    report = import_folder(folder, cohort=cohort)
    assert "email farewell: variant pt-br" in report.changed
    assert "email 02-functions: variant es" in report.changed
    assert list(CourseEmailVariant.objects.values_list("language", flat=True)) == ["pt-br"]


def test_a_changed_variant_of_a_scheduled_email_is_queued_again(folder, cohort, organizer):
    from mmooc.emails import scheduling
    from mmooc.testing import make_learner

    make_learner(cohort, language="es")
    (folder / "emails/es/farewell.md").write_text("---\nsubject: Adiós\n---\nGracias, {{ learner.first_name }}.\n")
    import_folder(folder, cohort=cohort)
    email = CourseEmail.objects.get(cohort=cohort, key="farewell")
    scheduling.schedule(email, organizer)
    old = email.variants.get().message
    (folder / "emails/es/farewell.md").write_text("---\nsubject: Adiós\n---\n¡Ánimo, {{ learner.first_name }}!\n")
    import_folder(folder, cohort=cohort)
    variant = CourseEmailVariant.objects.get(email=email)
    assert variant.message != old and "¡Ánimo," in variant.message.body
    assert variant.message.deliveries.count() == 1 and not old.deliveries.filter(status="queued").exists()


@pytest.mark.parametrize("where, content, expected", [
    ("emails/fr/farewell.md", "---\nsubject: Au revoir\n---\nMerci !\n",
     "emails/fr/:1: 'fr' is not a translated language"),
    ("emails/en/farewell.md", "---\nsubject: Bye\n---\nThanks!\n", "emails/en/:1: 'en' is not a translated language"),
    ("emails/es/nonexistent.md", "---\nsubject: Hola\n---\nHola.\n",
     "emails/es/nonexistent.md:1: there is no emails/nonexistent.md"),
    ("emails/es/farewell.md", "---\nsubject: Adiós\nschedule: day 3 at 09:00\n---\nGracias.\n",
     "emails/es/farewell.md:3: 'schedule': a translation has only a subject and a body"),
    ("emails/es/farewell.md", "---\nsubject: Adiós\n---\n\n", "emails/es/farewell.md:4: the email has no text"),
    ("emails/es/farewell.md", "---\nsubject: Adiós {{ nope }}\n---\nGracias.\n", "emails/es/farewell.md:2: subject:"),
    ("emails/es/farewell.md", "no front matter\n", "emails/es/farewell.md:1:"),
    ("emails/es/farewell.md", "---\nsubject: Adiós\n---\n" + "x" * (MAX_FILE_BYTES + 1), "larger than"),
    ("emails/es/Bad name.md", "---\nsubject: Adiós\n---\nGracias.\n", "emails/es/Bad name.md:1: email files are named"),
    ("emails/es/farewell.md", b"---\nsubject: Adi\xf3s\n---\nGracias.\n", "not UTF-8"),
])
def test_malformed_and_hostile_variant_files_are_refused_and_nothing_changes(folder, cohort, where, content,
                                                                             expected):
    import_folder(DEMO, cohort=cohort)
    path = folder / where
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    problems = _rejected(folder, cohort)
    assert any(expected in p for p in problems), problems


def test_two_folders_of_one_language_are_refused(folder, cohort):
    shutil.copytree(folder / "emails/es", folder / "emails/ES")
    assert any("the same language as emails/" in p for p in _rejected(folder, cohort))


def test_a_linked_language_folder_is_refused(folder, cohort, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "farewell.md").write_text("---\nsubject: Hola\n---\nHola.\n")
    (folder / "emails/ar").symlink_to(outside, target_is_directory=True)
    assert any("emails/ar/:1: a language folder cannot be a link" in p for p in _rejected(folder, cohort))
