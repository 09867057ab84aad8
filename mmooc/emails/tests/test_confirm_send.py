"""Think before sending: "Send N copies now?" before a schedule that sends many copies at once,
the undo window after it, and emails for a phase of the run that is over."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from mmooc.emails import confirm, scheduling
from mmooc.emails.models import CourseEmail
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery
from mmooc.testing import make_learner

# Ten days into the run that started on START (2027-03-08, see conftest.py).
TEN_DAYS_IN = datetime(2027, 3, 18, 12, tzinfo=UTC)
HELD_UNTIL = TEN_DAYS_IN + timedelta(seconds=120)
LEARNERS = 15

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def ten_days_in():
    with time_machine.travel(TEN_DAYS_IN, tick=False):
        yield


@pytest.fixture
def learners(cohort):
    return [make_learner(cohort, timezone=zone) for zone in ["Pacific/Honolulu", "Asia/Kolkata", "UTC"] * 5]


def _week_one(**fields):
    """Week 1's email, day 0 at 09:00 in each learner's zone: ten days ago for everybody."""
    data = {"subject": "Week 1", "body": "Hi {{ learner.first_name }}\n", "module": "1", "audience": "all",
            "schedule": "local", "day": "0", "time": "09:00", "action": "schedule"}
    data.update(fields)
    return data


def _new(client, cohort, data):
    return client.post(f"/dashboard/cohorts/{cohort.slug}/emails/new", data)


def _token(response) -> str:
    match = re.search(r'name="confirm" value="([^"]+)"', response.content.decode())
    assert match, "the page has no confirmation field"
    return match.group(1)


def _queued():
    return Delivery.objects.filter(status=Delivery.QUEUED).count()


@pytest.mark.usefixtures("learners")
def test_save_and_schedule_of_a_past_email_asks_first_and_queues_nothing(client, organizer, cohort):
    client.force_login(organizer)
    response = _new(client, cohort, _week_one())
    text = response.content.decode()
    assert response.status_code == 200
    assert f"Send {LEARNERS} copies now?" in text
    assert "Every copy leaves at Thu 18 Mar 2027 12:02 UTC" in text  # held for the undo window
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()


@pytest.mark.usefixtures("learners")
def test_confirming_queues_every_copy_held_for_the_undo_window(client, organizer, cohort):
    client.force_login(organizer)
    token = _token(_new(client, cohort, _week_one()))
    response = _new(client, cohort, _week_one(confirm=token))
    email = CourseEmail.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dashboard/emails/{email.public_id}/"
    assert email.state == CourseEmail.SCHEDULED
    assert set(email.message.deliveries.values_list("not_before", flat=True)) == {HELD_UNTIL}
    assert _queued() == LEARNERS


def test_the_undo_window_follows_its_setting(client, organizer, cohort, learners, settings):
    settings.SEND_UNDO_SECONDS = 600
    client.force_login(organizer)
    token = _token(_new(client, cohort, _week_one()))
    _new(client, cohort, _week_one(confirm=token))
    assert set(Delivery.objects.values_list("not_before", flat=True)) == {TEN_DAYS_IN + timedelta(minutes=10)}


@pytest.mark.usefixtures("learners")
def test_the_sending_page_offers_to_cancel_until_sending_starts(client, organizer, cohort):
    client.force_login(organizer)
    _new(client, cohort, _week_one(confirm=_token(_new(client, cohort, _week_one()))))
    email = CourseEmail.objects.get()
    text = client.get(f"/dashboard/emails/{email.public_id}/").content.decode()
    assert ('Sending starts at <time class="staff-time" datetime="2027-03-18T12:02:00+00:00">2027-03-18 12:02 UTC'
            '</time>') in text
    assert 'id="undo-cancel"' in text
    with time_machine.travel(HELD_UNTIL + timedelta(seconds=1), tick=False):
        assert "Sending starts at" not in client.get(f"/dashboard/emails/{email.public_id}/").content.decode()


def _confirmed(client, organizer, cohort) -> CourseEmail:
    client.force_login(organizer)
    _new(client, cohort, _week_one(confirm=_token(_new(client, cohort, _week_one()))))
    return CourseEmail.objects.get()


@pytest.mark.usefixtures("learners")
def test_cancelling_inside_the_undo_window_sends_nothing(client, organizer, cohort, smtp_sink):
    email = _confirmed(client, organizer, cohort)
    assert engine.drain() == 0  # held
    response = client.post(f"/dashboard/emails/{email.public_id}/cancel/")
    assert response.status_code == 302
    with time_machine.travel(HELD_UNTIL + timedelta(minutes=5), tick=False):
        assert engine.drain() == 0
    assert not smtp_sink.received
    assert Delivery.objects.filter(status=Delivery.SENT).count() == 0
    assert Delivery.objects.filter(status=Delivery.CANCELLED).count() == LEARNERS


@pytest.mark.usefixtures("learners")
def test_without_a_cancel_the_copies_leave_when_the_undo_window_ends(client, organizer, cohort, smtp_sink):
    _confirmed(client, organizer, cohort)
    assert engine.drain() == 0
    with time_machine.travel(HELD_UNTIL, tick=False):
        assert engine.drain() == LEARNERS
    assert len(smtp_sink.received) == LEARNERS


@pytest.mark.usefixtures("learners")
def test_a_tampered_confirmation_asks_again_and_changes_nothing(client, organizer, cohort):
    client.force_login(organizer)
    token = _token(_new(client, cohort, _week_one()))
    for bad in [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "yes", "x" * 5000, token + ":1"]:
        response = _new(client, cohort, _week_one(confirm=bad))
        assert response.status_code == 400
        assert "The confirmation was not valid" in response.content.decode()
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()


@pytest.mark.usefixtures("learners")
def test_a_confirmation_for_another_email_is_refused(client, organizer, cohort):
    client.force_login(organizer)
    token = _token(_new(client, cohort, _week_one()))
    response = _new(client, cohort, _week_one(subject="Something else", confirm=token))
    assert response.status_code == 400 and "changed since you confirmed" in response.content.decode()
    assert not CourseEmail.objects.exists()


def test_a_stale_count_asks_again_with_the_new_count(client, organizer, cohort, learners):
    client.force_login(organizer)
    token = _token(_new(client, cohort, _week_one()))
    for _ in range(3):
        make_learner(cohort, timezone="UTC")  # the audience grew while the question was open
    response = _new(client, cohort, _week_one(confirm=token))
    text = response.content.decode()
    assert response.status_code == 400
    assert "changed since you confirmed" in text and f"Send {LEARNERS + 3} copies now?" in text
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()
    assert _new(client, cohort, _week_one(confirm=_token(response))).status_code == 302
    assert _queued() == LEARNERS + 3


@pytest.mark.usefixtures("learners")
def test_an_expired_confirmation_asks_again(client, organizer, cohort):
    client.force_login(organizer)
    token = _token(_new(client, cohort, _week_one()))
    with time_machine.travel(TEN_DAYS_IN + confirm.MAX_AGE + timedelta(seconds=1), tick=False):
        response = _new(client, cohort, _week_one(confirm=token))
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not CourseEmail.objects.exists()


def test_a_handful_of_copies_is_not_asked_about_but_still_held(client, organizer, cohort):
    for _ in range(confirm.THRESHOLD):
        make_learner(cohort, timezone="UTC")
    client.force_login(organizer)
    response = _new(client, cohort, _week_one())
    assert response.status_code == 302
    assert set(Delivery.objects.values_list("not_before", flat=True)) == {HELD_UNTIL}


@pytest.mark.usefixtures("learners")
def test_a_schedule_ahead_is_not_asked_about_nor_held(client, organizer, cohort):
    client.force_login(organizer)
    response = _new(client, cohort, _week_one(day="14"))
    assert response.status_code == 302 and _queued() == LEARNERS
    assert min(Delivery.objects.values_list("not_before", flat=True)) > TEN_DAYS_IN + timedelta(days=3)


@pytest.mark.usefixtures("learners")
def test_the_schedule_button_of_a_draft_asks_first(client, organizer, cohort):
    client.force_login(organizer)
    _new(client, cohort, _week_one(action="save"))
    email = CourseEmail.objects.get()
    url = f"/dashboard/cohorts/{cohort.slug}/emails/{email.public_id}/schedule"
    response = client.post(url)
    assert response.status_code == 200 and f"Send {LEARNERS} copies now?" in response.content.decode()
    assert f'action="{url}"' in response.content.decode()
    email.refresh_from_db()
    assert email.state == CourseEmail.DRAFT and not Delivery.objects.exists()
    assert client.post(url, {"confirm": "forged"}).status_code == 400
    assert not Delivery.objects.exists()
    assert client.post(url, {"confirm": _token(response)}).status_code == 302
    assert _queued() == LEARNERS


@pytest.mark.usefixtures("learners")
def test_moving_a_scheduled_email_into_the_past_asks_first(client, organizer, cohort):
    client.force_login(organizer)
    _new(client, cohort, _week_one(day="14"))
    email = CourseEmail.objects.get()
    before = sorted(Delivery.objects.values_list("not_before", flat=True))
    url = f"/dashboard/cohorts/{cohort.slug}/emails/{email.public_id}/"
    response = client.post(url, _week_one(action="save"))
    assert response.status_code == 200 and f"Send {LEARNERS} copies now?" in response.content.decode()
    assert sorted(Delivery.objects.values_list("not_before", flat=True)) == before
    client.post(url, _week_one(action="save", confirm=_token(response)))
    assert set(Delivery.objects.filter(status=Delivery.QUEUED).values_list("not_before", flat=True)) == {HELD_UNTIL}


# ---------------------------------------------------------------- phases

def test_an_email_for_before_the_start_is_not_sent_after_it(client, organizer, cohort, learners):
    client.force_login(organizer)
    response = _new(client, cohort, _week_one(subject="Starts in 3 days", day="-3", phase="before-start"))
    text = response.content.decode()
    assert response.status_code == 400
    assert "This email is for before the start; the cohort started 10 days ago: it will not be sent." in text
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()


def test_the_grouping_check_is_not_sent_once_the_groups_are_formed(organizer, cohort, learners):
    from mmooc.testing import make_group

    with time_machine.travel(datetime(2027, 3, 5, 12, tzinfo=UTC), tick=False):
        make_group(cohort, 1)
        email = CourseEmail.objects.create(cohort=cohort, subject="Still want a group?", body="Yes or no?\n",
                                           audience={"kind": "all"}, schedule=CourseEmail.NOW,
                                           phase=CourseEmail.PHASE_GROUPING)
    with pytest.raises(scheduling.ScheduleError, match="the study groups were formed on"):
        scheduling.schedule(email, organizer)
    assert not Delivery.objects.exists()


def test_a_before_start_email_skips_the_learners_whose_start_has_begun(organizer, cohort, learners):
    # 20:00 UTC the evening before: the start date has begun in Kolkata only.
    with time_machine.travel(datetime(2027, 3, 7, 20, tzinfo=UTC), tick=False):
        email = CourseEmail.objects.create(cohort=cohort, subject="Tomorrow!", body="See you.\n",
                                           audience={"kind": "all"}, schedule=CourseEmail.NOW,
                                           phase=CourseEmail.PHASE_BEFORE_START)
        view = confirm.outlook(email)
        assert (view.copies, view.skipped) == (10, 5)
        assert view.note == ("This email is for before the start: 5 copies due after that in the learners' "
                             "zones will not be sent.")
        assert scheduling.schedule(email, organizer) == 10
    zones = {learner.public_id.hex for learner in learners if learner.timezone == "Asia/Kolkata"}
    refs = {ref.replace("-", "") for ref in Delivery.objects.values_list("ref", flat=True)}
    assert len(refs) == 10 and not refs & zones


def test_a_late_learner_gets_no_copy_of_a_phase_email_that_is_over_for_them(organizer, cohort):
    # Day -1 at 12:00 UTC: before the start in UTC, but day 0 has begun in Kiritimati (UTC+14).
    with time_machine.travel(datetime(2027, 3, 1, 12, tzinfo=UTC), tick=False):
        make_learner(cohort, timezone="UTC")
        email = CourseEmail.objects.create(cohort=cohort, subject="Starts soon", body="Soon.\n",
                                           audience={"kind": "all"}, schedule=CourseEmail.RELATIVE, day_offset=-1,
                                           local_time=datetime(2027, 1, 1, 12).time(),
                                           phase=CourseEmail.PHASE_BEFORE_START)
        assert scheduling.schedule(email, organizer) == 1
        on_time = make_learner(cohort, timezone="UTC")
        too_late = make_learner(cohort, timezone="Pacific/Kiritimati")
        scheduling.add_late_learner(on_time)
        scheduling.add_late_learner(too_late)
    refs = set(Delivery.objects.values_list("ref", flat=True))
    assert str(on_time.public_id) in refs and str(too_late.public_id) not in refs


# ---------------------------------------------------------------- the command line

def _email_file(tmp_path, schedule="day 0 at 09:00 local", extra=""):
    path = tmp_path / "week-1.md"
    path.write_text(f"---\nsubject: Week 1\naudience: all\nschedule: \"{schedule}\"\n{extra}---\nHi\n")
    return str(path)


def _command(*args, stdin=None):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    kwargs = {"stdin": stdin} if stdin is not None else {}
    call_command("email", *args, stdout=out, stderr=out, **kwargs)
    return out.getvalue()


@pytest.mark.usefixtures("learners")
def test_the_command_refuses_without_yes_when_nobody_can_answer(cohort, tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError) as error:
        _command("schedule", cohort.slug, _email_file(tmp_path))
    assert f"Send {LEARNERS} copies now?" in str(error.value)
    assert "--yes" in str(error.value) and "Nothing was changed." in str(error.value)
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()


@pytest.mark.usefixtures("learners")
def test_the_command_asks_and_a_no_changes_nothing(cohort, tmp_path):
    from io import StringIO

    from django.core.management import CommandError

    with pytest.raises(CommandError, match="nothing was changed"):
        _command("schedule", cohort.slug, _email_file(tmp_path), stdin=StringIO("no\n"))
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()


@pytest.mark.usefixtures("learners")
def test_the_command_sends_after_a_yes_held_for_the_undo_window(cohort, tmp_path):
    from io import StringIO

    out = _command("schedule", cohort.slug, _email_file(tmp_path), stdin=StringIO("yes\n"))
    assert f"Send {LEARNERS} copies now?" in out and "mmooc email cancel" in out
    assert set(Delivery.objects.values_list("not_before", flat=True)) == {HELD_UNTIL}


@pytest.mark.usefixtures("learners")
def test_the_command_does_not_ask_with_yes(cohort, tmp_path):
    out = _command("schedule", cohort.slug, _email_file(tmp_path), "--yes")
    assert "copies now?" not in out and f"for {LEARNERS} recipients" in out
    assert _queued() == LEARNERS


@pytest.mark.usefixtures("learners")
def test_the_command_says_a_phase_email_will_not_be_sent(cohort, tmp_path):
    from django.core.management import CommandError

    path = _email_file(tmp_path, schedule="day -3 at 09:00", extra="phase: before-start\n")
    with pytest.raises(CommandError, match="the cohort started 10 days ago: it will not be sent"):
        _command("schedule", cohort.slug, path, "--yes")
    assert not CourseEmail.objects.exists() and not Delivery.objects.exists()


def test_the_command_refuses_an_unknown_phase(cohort, tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="problem"):
        _command("schedule", cohort.slug, _email_file(tmp_path, extra="phase: someday\n"), "--yes")
    assert not CourseEmail.objects.exists()


def test_waiting_copies_of_a_phase_email_are_cancelled_once_the_phase_is_over(organizer, cohort, learners):
    from mmooc.emails.phases import end_phases
    from mmooc.mailer import outbox

    with time_machine.travel(datetime(2027, 3, 6, 12, tzinfo=UTC), tick=False):
        email = CourseEmail.objects.create(cohort=cohort, subject="Starts soon", body="Soon.\n",
                                           audience={"kind": "all"}, schedule=CourseEmail.NOW,
                                           phase=CourseEmail.PHASE_BEFORE_START)
        assert scheduling.schedule(email, organizer) == LEARNERS
        outbox.pause(email.message)  # held past the start
        assert end_phases() == 0
    # 20:00 UTC the evening before: the start date has begun in Kolkata only.
    with time_machine.travel(datetime(2027, 3, 7, 20, tzinfo=UTC), tick=False):
        assert end_phases() == 5
    with time_machine.travel(datetime(2027, 3, 8, 12, tzinfo=UTC), tick=False):
        assert end_phases() == 10
        outbox.resume(email.message)
        assert engine.drain() == 0
    assert Delivery.objects.filter(status=Delivery.CANCELLED).count() == LEARNERS
