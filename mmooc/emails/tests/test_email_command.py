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


def _everything() -> tuple:
    from mmooc.audit.models import AuditEntry
    from mmooc.mailer.models import Delivery

    return (list(CourseEmail.objects.values_list("pk", "state", "subject", "updated_at")),
            list(Delivery.objects.values_list("pk", "status", "not_before")), AuditEntry.objects.count(),
            Message.objects.count())


def test_plan_prints_the_send_plan_and_changes_nothing(cohort):
    before = _everything()
    out = _run("schedule", "py-1", str(DEMO / "emails" / "02-functions.md"), "--plan")
    assert _everything() == before and not CourseEmail.objects.exists()
    # 09:00 on day 7 in Kolkata is 03:30 UTC, in Honolulu 19:00 UTC.
    assert out.splitlines() == [
        "Plan for 'Week 2 of A Gentle Introduction to Python: teach Python new words with functions' in py-1 "
        "(nothing was changed):",
        "Recipients: 2; copies: 2.",
        "Copies by domain: example.org 2.",
        "First copy: Mon 15 Mar 2027 03:30 UTC; last copy: Mon 15 Mar 2027 19:00 UTC (15 h 30 min).",
        "By region (UTC):",
        "  Asia             1  Mon 15 Mar 2027 03:30 UTC – Mon 15 Mar 2027 03:30 UTC",
        "  Oceania          1  Mon 15 Mar 2027 19:00 UTC – Mon 15 Mar 2027 19:00 UTC",
        "Rate: no rate limit. Provider quotas: no limits (none set; MMOOC_PROVIDER_QUOTAS sets them).",
    ]


def test_plan_of_a_scheduled_email_changes_nothing_and_does_not_collide_with_itself(cohort, tmp_path, settings):
    settings.PROVIDER_QUOTAS = {"day": 1}
    email = _schedule(cohort)
    edited = tmp_path / "02-functions.md"
    edited.write_text((DEMO / "emails" / "02-functions.md").read_text().replace("day 7 at 09:00", "day 8 at 10:00"))
    before = _everything()
    out = _run("schedule", "py-1", str(edited), "--plan")
    assert _everything() == before
    email.refresh_from_db()
    assert email.state == CourseEmail.SCHEDULED and email.day_offset == 7
    assert "First copy: Tue 16 Mar 2027 04:30 UTC; last copy: Wed 17 Mar 2027 04:30 UTC (1 day)." in out
    assert ("Warning: Exceeds the daily quota of 1 by 1 copy: it needs 2 days' quotas and finishes at "
            "Wed 17 Mar 2027 04:30 UTC.") in out
    assert "Collides" not in out


def test_plan_of_an_email_already_sent_is_refused_and_changes_nothing(cohort):
    _schedule(cohort)
    with time_machine.travel(datetime(2027, 3, 15, 4, tzinfo=UTC), tick=False):
        drain()
    before = _everything()
    with pytest.raises(CommandError, match="The email 02-functions was already sent; it can no longer change. "
                                           "Nothing was changed."):
        _run("schedule", "py-1", str(DEMO / "emails" / "02-functions.md"), "--plan")
    assert _everything() == before
