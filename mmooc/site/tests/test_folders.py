from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmooc.courses.models import Course, Module, Resource
from mmooc.emails.models import CourseEmail
from mmooc.lib.folderfiles import FolderError
from mmooc.site.folders import export_folder, import_folder
from mmooc.testing import make_cohort

DEMO = Path(__file__).resolve().parents[1] / "demo" / "gentle-python"

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "gentle-python"
    shutil.copytree(DEMO, path)
    return path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _counts():
    return (Course.objects.count(), Module.objects.count(), Resource.objects.count(),
            CourseEmail.objects.count())


def _rejected(folder, cohort=None) -> list[str]:
    before = _counts()
    with pytest.raises(FolderError) as info:
        import_folder(folder, cohort=cohort)
    assert _counts() == before
    return info.value.problems


def test_it_imports_the_demo_folder():
    report = import_folder(DEMO)
    course = Course.objects.get(slug="gentle-python")
    assert course.modules.count() == 7
    assert course.modules.get(position=3).resources.count() == 6
    assert course.questions[0]["id"] == "experience"
    assert course.organizer_email == "hello@course.example.org"
    assert "course gentle-python" in report.added


def test_it_imports_the_demo_emails_into_a_cohort():
    course = Course.objects.create(slug="gentle-python", title="Old title")
    cohort = make_cohort(course)
    import_folder(DEMO, cohort=cohort)
    emails = {e.key: e for e in cohort.emails.all()}
    assert len(emails) == 10
    week2 = emails["02-functions"]
    assert (week2.schedule, week2.day_offset, week2.local_time.hour) == (CourseEmail.LOCAL, 7, 9)
    assert week2.module.position == 2
    assert emails["welcome"].trigger == "welcome"
    assert emails["group-check"].audience == {"kind": "wanting-group"}
    assert all(e.state == CourseEmail.DRAFT for e in emails.values())


def test_it_changes_nothing_when_imported_twice():
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    import_folder(DEMO, cohort=cohort)
    report = import_folder(DEMO, cohort=cohort)
    assert report.unchanged, report.text()


def test_it_reports_changes_and_removals(folder):
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    import_folder(folder, cohort=cohort)
    _edit(folder / "modules/02-functions.md", "release_day: 7", "release_day: 8")
    (folder / "modules/07-classes-final-project.md").unlink()
    _edit(folder / "emails/07-classes-final-project.md", "module: 7\n", "")
    (folder / "emails/farewell.md").unlink()
    report = import_folder(folder, cohort=cohort)
    assert report.changed[:1] == ["module 2: release_offset_days"]
    assert "module 7: Week 7: Classes, objects and your final project" in report.removed
    assert any(r.startswith("email farewell") for r in report.removed)
    assert not cohort.emails.filter(key="farewell").exists()


def test_it_changes_nothing_on_a_dry_run(folder):
    report = import_folder(folder, dry_run=True)
    assert report.added and report.dry_run
    assert not Course.objects.exists()


def test_it_rejects_bad_front_matter_with_its_line(folder):
    _edit(folder / "modules/03-conditionals-recursion.md", 'release_day: 14', 'release_day: 14: 15')
    problems = _rejected(folder)
    assert problems[0].startswith("modules/03-conditionals-recursion.md:3: cannot read the YAML")


def test_it_rejects_a_file_without_front_matter(folder):
    path = folder / "modules/02-functions.md"
    path.write_text(path.read_text().removeprefix("---\n"))
    assert _rejected(folder)[0].startswith("modules/02-functions.md:1: bad front matter")


def test_it_rejects_unknown_keys_with_their_line(folder):
    _edit(folder / "course.yaml", "group_size: 40", "group_size: 40\ngroupsize: 30")
    _edit(folder / "modules/01-getting-started.md", "    minutes: 20\n", "    minutes: 20\n    length: 3\n")
    problems = _rejected(folder)
    line = (folder / "course.yaml").read_text().split("\n").index("groupsize: 30") + 1
    assert problems[0].startswith(f"course.yaml:{line}: unknown key 'groupsize'")
    assert problems[1].startswith("modules/01-getting-started.md:9: unknown key 'length' in a resource")


def test_it_rejects_a_missing_module(folder):
    (folder / "modules/04-iteration-strings.md").unlink()
    problems = _rejected(folder)
    assert problems[0] == ("modules/05-lists-dictionaries.md:1: module 4 is missing: "
                           "modules are numbered 1, 2, 3, … without gaps")


def test_it_rejects_an_invalid_date(folder):
    _edit(folder / "emails/farewell.md", '"day 49 at 09:00 local"', '"2027-02-30 09:00"')
    problems = _rejected(folder)
    assert problems == ["emails/farewell.md:4: schedule: '2027-02-30 09:00' is not a valid date and time "
                        "(day is out of range for month)"]


def test_it_rejects_a_resource_without_url(folder):
    _edit(folder / "modules/02-functions.md",
          "    url: https://greenteapress.com/thinkpython2/html/thinkpython2004.html\n", "")
    problems = _rejected(folder)
    assert problems == ["modules/02-functions.md:5: resource 'Think Python, chapter 3: Functions' has no url:"]


def test_it_rejects_a_template_error_at_its_line_in_the_file(folder):
    _edit(folder / "emails/02-functions.md", "Keep going,", "Keep going, {{ learner.nickname }}")
    problems = _rejected(folder)
    line = (folder / "emails/02-functions.md").read_text().split("\n").index(
        "Keep going, {{ learner.nickname }}") + 1
    assert problems[0].startswith(f"emails/02-functions.md:{line}: unknown variable learner.nickname")


def test_it_reports_every_problem_at_once(folder):
    _edit(folder / "course.yaml", "group_size: 40", "group_size: one")
    _edit(folder / "emails/welcome.md", "trigger: welcome", "trigger: signup")
    assert len(_rejected(folder)) == 2


def test_it_refuses_a_cohort_of_another_course():
    cohort = make_cohort()
    problems = _rejected(DEMO, cohort)
    assert "belongs to the course" in problems[0]


def test_it_never_changes_an_email_already_sent(folder):
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    import_folder(folder, cohort=cohort)
    CourseEmail.objects.filter(cohort=cohort, key="farewell").update(state=CourseEmail.SENT)
    _edit(folder / "emails/farewell.md", "Thank you for learning", "Thanks for learning")
    report = import_folder(folder, cohort=cohort)
    assert "Thank you for learning" in cohort.emails.get(key="farewell").body
    assert report.unchanged and "already sent" in report.notes[0]


def test_it_exports_a_folder_that_imports_back_unchanged(tmp_path):
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    import_folder(DEMO, cohort=cohort)
    course = Course.objects.get(slug="gentle-python")
    written = export_folder(course, tmp_path / "out", cohort=cohort)
    assert "modules/02-functions.md" in written and "emails/welcome.md" in written
    report = import_folder(tmp_path / "out", cohort=cohort)
    assert report.unchanged, report.text()


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_unchanged_course_exports_byte_identical_files(tmp_path):
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    import_folder(DEMO, cohort=cohort)
    export_folder(Course.objects.get(slug="gentle-python"), tmp_path / "out", cohort=cohort)
    assert _tree(tmp_path / "out") == _tree(DEMO)
    assert import_folder(tmp_path / "out", cohort=cohort).unchanged


def test_a_changed_module_keeps_its_file_name_and_the_others_stay_as_written(tmp_path):
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    import_folder(DEMO, cohort=cohort)
    course = Course.objects.get(slug="gentle-python")
    Module.objects.filter(course=course, position=3).update(title="Week 3: conditionals, recursion and functions")
    export_folder(course, tmp_path / "out", cohort=cohort)
    out, demo = _tree(tmp_path / "out"), _tree(DEMO)
    assert set(out) == set(demo)  # no file renamed
    changed = {name for name in out if out[name] != demo[name]}
    assert changed == {"modules/03-conditionals-recursion.md"}
    report = import_folder(tmp_path / "out", cohort=cohort)
    assert report.unchanged, report.text()


def test_an_email_edited_in_the_dashboard_exports_with_lf_and_imports_back_unchanged(tmp_path, client, organizer):
    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    import_folder(DEMO, cohort=cohort)
    email = cohort.emails.get(key="farewell")
    client.force_login(organizer)
    response = client.post(f"/dashboard/cohorts/{cohort.slug}/emails/{email.public_id}/", {
        "subject": email.subject, "body": "Thank you.\r\n\r\nSee you.\r\n", "audience": "all",
        "schedule": "local", "day": "49", "time": "09:00", "action": "save"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    email.refresh_from_db()
    assert "\r" not in email.body
    export_folder(Course.objects.get(slug="gentle-python"), tmp_path / "out", cohort=cohort)
    data = (tmp_path / "out" / "emails" / "farewell.md").read_bytes()
    assert b"\r" not in data and b"Thank you.\n\nSee you.\n" in data
    assert import_folder(tmp_path / "out", cohort=cohort).unchanged


def test_broken_yaml_in_the_course_file_is_one_problem(folder):
    _edit(folder / "course.yaml", "title: A Gentle Introduction to Python", 'title: "A Gentle')
    problems = _rejected(folder, make_cohort(Course.objects.create(slug="gentle-python", title="x")))
    assert len(problems) == 1 and problems[0].startswith("course.yaml:"), problems


def test_broken_yaml_in_a_module_file_is_one_problem(folder):
    _edit(folder / "modules/02-functions.md", "title:", "title: [unclosed")
    problems = _rejected(folder, make_cohort(Course.objects.create(slug="gentle-python", title="x")))
    assert len(problems) == 1 and problems[0].startswith("modules/02-functions.md:"), problems


def test_it_queues_a_changed_scheduled_email_again(folder, organizer):
    from mmooc.emails import scheduling
    from mmooc.testing import make_learner

    cohort = make_cohort(Course.objects.create(slug="gentle-python", title="x"))
    make_learner(cohort)
    import_folder(folder, cohort=cohort)
    email = cohort.emails.get(key="farewell")
    scheduling.schedule(email, organizer)
    old = email.message
    assert import_folder(folder, cohort=cohort).unchanged
    _edit(folder / "emails/farewell.md", "Thank you for learning", "Thanks for learning")
    import_folder(folder, cohort=cohort)
    email.refresh_from_db()
    old.refresh_from_db()
    assert email.state == CourseEmail.SCHEDULED and email.message != old and old.state == "cancelled"
    assert "Thanks for learning" in email.message.body


def test_it_records_an_import_in_the_audit_log(organizer):
    from mmooc.audit.models import AuditEntry

    import_folder(DEMO, actor=organizer)
    import_folder(DEMO, actor=organizer)
    entry = AuditEntry.objects.get(action="course.imported")
    assert entry.actor == organizer and "course gentle-python" in entry.details["added"]
