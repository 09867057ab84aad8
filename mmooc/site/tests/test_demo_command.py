"""`mmooc demo`: loads once, reuses after, regenerates on request; never duplicates."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from mmooc.courses.models import Cohort, Course, Module, Resource
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner
from mmooc.lists.models import Post

pytestmark = pytest.mark.django_db(transaction=True)


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", "--no-serve", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Course, Module, Resource, Cohort, Learner, StudyGroup, Membership, Post, CourseEmail)}


def test_it_loads_the_demo_course_with_learners_groups_and_posts():
    output = demo("--learners", "300")
    cohort = Cohort.objects.get(slug="gentle-python-demo")
    assert cohort.course.title == "A Gentle Introduction to Python"
    assert cohort.course.modules.count() == 7
    assert cohort.learners.count() == 300
    assert StudyGroup.objects.filter(cohort=cohort).exists()
    assert Post.objects.exists()
    assert "Sign in as organizer" in output
    assert cohort.signup_is_open()


def test_running_it_twice_reuses_the_data():
    demo("--learners", "200")
    before = counts()
    output = demo()
    assert "already loaded" in output
    assert counts() == before


def test_a_new_learner_count_regenerates_the_demo_cohort():
    demo("--learners", "100")
    demo("--learners", "150")
    assert Learner.objects.count() == 150
    assert Course.objects.count() == 1
    assert Cohort.objects.count() == 1


def test_reset_starts_over():
    demo("--learners", "100")
    Learner.objects.update(name="Changed")
    demo("--reset", "--learners", "100")
    assert not Learner.objects.filter(name="Changed").exists()
    assert Learner.objects.count() == 100


def test_the_printed_login_works(client):
    output = demo("--learners", "50")
    line = next(line for line in output.splitlines() if "Sign in as organizer" in line)
    password = line.split("password:")[1].strip()
    assert client.login(username="organizer", password=password)


def test_the_demo_facilitator_sees_the_first_two_groups_and_a_second_run_keeps_them(client):
    from mmooc.groups.models import Facilitation

    demo("--learners", "50")
    output = demo()
    line = next(line for line in output.splitlines() if "Sign in as facilitator" in line)
    assert client.login(username="facilitator", password=line.split("password:")[1].strip())
    numbers = list(StudyGroup.objects.order_by("number").values_list("number", flat=True))
    assert sorted(Facilitation.objects.values_list("group__number", flat=True)) == numbers[:2]
    slug = Cohort.objects.get().slug
    assert client.get(f"/dashboard/cohorts/{slug}/groups/{numbers[0]}/").status_code == 200
    for number in numbers[2:3]:
        assert client.get(f"/dashboard/cohorts/{slug}/groups/{number}/").status_code == 404


def test_it_schedules_this_weeks_and_next_weeks_emails_and_leaves_the_others_as_drafts():
    output = demo("--learners", "60")
    emails = dict(CourseEmail.objects.exclude(trigger=CourseEmail.TRIGGER_WELCOME).values_list("key", "state"))
    scheduled = {key for key, state in emails.items() if state == CourseEmail.SCHEDULED}
    assert scheduled == {"02-functions", "03-conditionals-recursion"}
    assert {state for key, state in emails.items() if key not in scheduled} == {CourseEmail.DRAFT}
    assert "2 course emails scheduled, 7 left as drafts" in output
    week_2 = CourseEmail.objects.get(key="02-functions")
    confirmed = Learner.objects.filter(state=Learner.CONFIRMED)
    # One copy per confirmed learner, across the email's messages: Spanish speakers get its Spanish variant.
    assert sum(m.deliveries.count() for m in scheduling.messages_of(week_2)) == confirmed.count()
    spanish = week_2.variants.get(language="es").message
    assert spanish.deliveries.count() == confirmed.filter(language__startswith="es").count() > 0


def _links() -> str:
    from mmooc.mailer.models import Delivery, Message

    contexts = " ".join(str(c) for c in Delivery.objects.values_list("context", flat=True))
    return contexts + " ".join(Message.objects.values_list("body", flat=True))


def test_its_mail_links_follow_the_port(monkeypatch):
    monkeypatch.delenv("MMOOC_BASE_URL", raising=False)
    output = demo("--learners", "40", "--port", "8101")
    links = _links()
    assert "http://127.0.0.1:8101/" in links
    stale = links.find("127.0.0.1:8000")
    assert stale == -1, links[max(0, stale - 300):stale + 100]
    assert "http://127.0.0.1:8101/outbox/" in output and "sign in first" in output
    from django.conf import settings

    assert settings.BASE_URL == "http://127.0.0.1:8000"  # as it was, once the command is done


def test_mmooc_base_url_wins_over_the_port(monkeypatch, settings):
    monkeypatch.setenv("MMOOC_BASE_URL", "https://course.example.org")
    settings.BASE_URL = "https://course.example.org"
    output = demo("--learners", "40", "--port", "8101")
    links = _links()
    assert "https://course.example.org/" in links and "127.0.0.1:8101" not in links
    assert "https://course.example.org/dashboard/" in output
