"""What a learner sees, from the landing page to their group's archive, in chromium: each
page and email fits its width. With MMOOC_SCREENSHOTS naming a folder, each is also saved
there as a PNG (the pictures of docs/learners.md):

    MMOOC_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -p no:xdist \\
        mmooc/site/tests/test_learner_screenshots_browser.py

The course is the demo's (gentle-python), starting Monday 4 March 2030; the learners live in
Los Angeles and Kolkata.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from mmooc.courses.models import Course
from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.groups.models import Membership
from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.learners.tests.helpers import path_of
from mmooc.lists import relay
from mmooc.lists.links import archive_url
from mmooc.mailer.models import Delivery
from mmooc.mailer.render import Prepared
from mmooc.site import demo_posts
from mmooc.testing import import_course_folder, make_cohort, make_group, make_learner, make_organizer

DEMO = Path(__file__).resolve().parents[1] / "demo" / "gentle-python"
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("outbox_mode")]

MEMBERS = [("maya@example.org", "Maya", "Pune", "Asia/Kolkata", "IN"),
           ("leo@example.org", "Leo", "Los Angeles", "America/Los_Angeles", "US"),
           ("ana@example.org", "Ana", "Lisbon", "Europe/Lisbon", "PT"),
           ("tom@example.org", "Tom", "Nairobi", "Africa/Nairobi", "KE")]


class Camera:
    """Opens pages in one browser context per width; checks each fits; saves it when asked."""

    def __init__(self, browser, folder: str) -> None:
        self.browser, self.folder = browser, Path(folder) if folder else None
        self.contexts: list = []
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def page(self, viewport: dict, zone: str = "America/Los_Angeles"):
        context = self.browser.new_context(viewport=viewport, timezone_id=zone, locale="en-US")
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    def take(self, page, name: str, height: int = 0) -> None:
        """The page as its first screen shows it, or its first `height` pixels."""
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        if self.folder:
            tall = min(height, page.evaluate("document.documentElement.scrollHeight")) if height else 0
            clip = {"x": 0, "y": 0, "width": width, "height": tall} if tall else None
            page.screenshot(path=self.folder / f"{name}.png", full_page=bool(tall), clip=clip, animations="disabled")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def email_html(learner: Learner, tag: str, subject_start: str = "") -> str:
    rows = Delivery.objects.filter(recipient=learner.email, message__tag=tag,
                                   message__subject__startswith=subject_start).select_related("message")
    delivery = rows.order_by("pk").last()
    assert delivery is not None, (learner.email, tag, subject_start)
    return Prepared(delivery.message).parts(delivery.pk, delivery.full_context(), "<shot@example.org>").html


@pytest.fixture
def camera(browser):
    camera = Camera(browser, os.environ.get("MMOOC_SCREENSHOTS", ""))
    yield camera
    camera.close()


def test_a_learners_way_through_the_course(live_server, settings, time_machine, camera):
    settings.BASE_URL = "https://course.example.org"  # what pages and emails show; visits use the path
    time_machine.move_to("2030-02-20 17:00Z")
    import_course_folder(DEMO)
    course = Course.objects.get(slug="gentle-python")
    cohort = make_cohort(course, slug="spring-2030", start=date(2030, 3, 4), tz="UTC")
    import_course_folder(DEMO, cohort)

    for address, name, _city, zone, country in MEMBERS[:1] + MEMBERS[2:]:
        make_learner(cohort, address, name=name, timezone=zone, country=country)

    # The landing page, as a visitor in Los Angeles sees it.
    page = camera.page(WIDE)
    page.goto(f"{live_server.url}/{course.slug}/")
    page.wait_for_function("() => !document.querySelector('time.local') || "
                           "!document.querySelector('time.local').textContent.includes('UTC')")
    camera.take(page, "learner-landing")

    # Confirming the address, on a phone.
    leo = make_learner(cohort, "leo@example.org", state=Learner.PENDING, name="Leo", timezone="America/Los_Angeles",
                       country="US")
    page = camera.page(PHONE)
    page.goto(live_server.url + path_of(links.confirm_url(leo)))
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    camera.take(page, "learner-confirmed")

    # The welcome before the start, on a phone.
    leo.refresh_from_db()
    if not Delivery.objects.filter(recipient=leo.email, message__tag="welcome").exists():
        scheduling.send_welcome(leo)
    page = camera.page(PHONE)
    page.set_content(email_html(leo, "welcome"))
    camera.take(page, "learner-welcome", height=1100)

    # The study group, and the weeks' emails scheduled.
    group = make_group(cohort, 1)
    for address in [leo.email] + [m[0] for m in MEMBERS[:1] + MEMBERS[2:]]:
        Membership.objects.create(group=group, learner=Learner.objects.get(cohort=cohort, email=address))
    actor = make_organizer()
    for email in CourseEmail.objects.filter(cohort=cohort, trigger=""):
        scheduling.schedule(email, actor)

    # Ten days in: a late joiner's welcome, week 2's email, the personal page, the archive.
    time_machine.move_to("2030-03-14 17:00Z")
    late = make_learner(cohort, "kiran@example.org", name="Kiran", timezone="Asia/Kolkata")
    scheduling.send_welcome(late)
    page = camera.page(PHONE, "Asia/Kolkata")
    page.set_content(email_html(late, "welcome"))
    camera.take(page, "learner-welcome-late", height=1100)

    from mmooc.mailer import engine

    engine.drain()
    page = camera.page(PHONE)
    page.set_content(email_html(leo, "course-email", "Week 2"))
    camera.take(page, "learner-weekly-phone", height=1100)

    # The group's conversations, a post every few hours from Monday of week 2.
    members = [(a, n, c) for a, n, c, _z, _c in MEMBERS]
    time_machine.move_to("2030-03-11 06:40Z")
    for thread in range(len(demo_posts.THREADS)):
        turn = members[thread:] + members[:thread]
        for n, raw in enumerate(demo_posts.thread_messages(group.address, turn, thread)):
            relay.receive(raw, turn[n % len(turn)][0], [group.address])
            time_machine.shift(timedelta(hours=7, minutes=13))
    time_machine.move_to("2030-03-14 17:00Z")
    leo.refresh_from_db()
    page = camera.page(PHONE)
    page.goto(live_server.url + path_of(links.learner_page_url(leo)))
    camera.take(page, "learner-page-phone")

    page = camera.page(PHONE)
    page.goto(live_server.url + path_of(archive_url(group, leo)))
    assert page.locator(".thread-row").count() == len(demo_posts.THREADS)
    camera.take(page, "learner-archive-phone")
    page.locator(".thread-row a", has_text="stuck on the installation").click()
    page.wait_for_selector(".thread")
    assert page.locator(".post").count() == 3
    camera.take(page, "learner-thread-phone", height=1100)
