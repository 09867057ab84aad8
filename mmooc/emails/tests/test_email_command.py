from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from mmooc.emails.models import CourseEmail
from mmooc.mailer.engine import drain
from mmooc.mailer.models import Message
from mmooc.testing import import_course_folder

DEMO = Path(__file__).resolve().parents[2] / "site" / "demo" / "gentle-python"
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen", "far_apart"),
              pytest.mark.cohort(course={"slug": "gentle-python", "title": "x", "modules": 0})]


@pytest.fixture(autouse=True)
def demo_course(cohort):
    """The cohort's course is the demo course, from its folder."""
    import_course_folder(DEMO)




def _run(*args) -> str:
    out = StringIO()
    call_command("email", *args, stdout=out, stderr=out)
    return out.getvalue()


def _schedule(cohort, name="02-functions.md"):
    _run("schedule", cohort.slug, str(DEMO / "emails" / name))
    return cohort.emails.get(key=name.removesuffix(".md"))


def test_it_schedules_an_email_file(cohort):
    out = _run("schedule", "py-1", str(DEMO / "emails" / "02-functions.md"))
    assert "for 2 recipients, from 2027-03-15 03:30 to 2027-03-15 19:00 UTC" in out
    email = cohort.emails.get(key="02-functions")
    assert email.state == CourseEmail.SCHEDULED and email.module.position == 2


def test_it_reports_a_broken_file_with_its_line(cohort, tmp_path):
    path = tmp_path / "broken.md"
    path.write_text("---\nsubject: Hi\nschedule: day 7 at 9\n---\nHello\n")
    out = StringIO()
    with pytest.raises(CommandError, match="1 problem; nothing was changed"):
        call_command("email", "schedule", "py-1", str(path), stdout=out, stderr=out)
    assert "broken.md:3: schedule: cannot read the schedule" in out.getvalue()
    assert not cohort.emails.exists()


def test_it_lists_the_emails_of_a_cohort(cohort):
    email = _schedule(cohort)
    out = _run("list", "py-1")
    assert email.public_id.hex[:8] in out and "day 7 at 09:00 local" in out and "scheduled" in out


def test_it_shows_the_status_as_json(cohort):
    email = _schedule(cohort)
    with time_machine.travel(datetime(2027, 3, 15, 4, tzinfo=UTC), tick=False):
        drain()
    data = json.loads(_run("status", email.public_id.hex[:6], "--format", "json"))
    assert data["counts"]["sent"] == 1 and data["counts"]["queued"] == 1
    assert data["state"] == "sending"


def test_it_draws_a_progress_bar(cohort):
    email = _schedule(cohort)
    assert "[" + "." * 30 + "] 0/2" in _run("status", email.public_id.hex)


def test_it_pauses_and_resumes(cohort):
    email = _schedule(cohort)
    _run("pause", email.public_id.hex[:8])
    email.message.refresh_from_db()
    assert email.message.state == Message.PAUSED
    _run("resume", email.public_id.hex[:8])
    email.message.refresh_from_db()
    assert email.message.state == Message.ACTIVE


def test_it_cancels(cohort):
    email = _schedule(cohort)
    assert "2 copies will not be sent" in _run("cancel", email.public_id.hex[:8])


def test_it_refuses_an_unknown_email(cohort):
    email = _schedule(cohort)
    for action in ("status", "pause", "resume", "cancel"):
        with pytest.raises(CommandError, match="No email with an id starting"):
            _run(action, "abcd1234")
    email.refresh_from_db()
    assert email.state == CourseEmail.SCHEDULED and email.message.state == Message.ACTIVE


def test_it_stops_following_once_everything_is_sent(cohort):
    email = _schedule(cohort)
    with time_machine.travel(datetime(2027, 3, 16, tzinfo=UTC), tick=False):
        drain()
        out = _run("status", email.public_id.hex[:8], "--follow")
    assert "[" + "#" * 30 + "] 2/2" in out and "sent 2" in out
