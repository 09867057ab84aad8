"""Every built-in email and every demo course email, as a phone's mail client shows it.

Each copy's HTML part is opened in chromium 390 px wide: nothing may be wider than the
screen, and every address in the text must be a link (a mail client shows its words).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from mmooc.courses.models import Course
from mmooc.emails import catchup, scheduling
from mmooc.emails.models import CourseEmail
from mmooc.groups import check, welcome
from mmooc.groups.models import Membership
from mmooc.learners import mail
from mmooc.learners.models import Learner
from mmooc.lib.env import parse_email_url
from mmooc.lists import digest
from mmooc.lists.models import Post
from mmooc.mailer.engine import drain
from mmooc.mailer.models import Delivery, Message
from mmooc.mailer.render import Prepared
from mmooc.testing import add_member, import_course_folder, make_cohort, make_group, make_learner, make_organizer

DEMO = Path(__file__).resolve().parents[1] / "demo" / "gentle-python"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OUTSIDE_LINKS = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (/https?:\\/\\//.test(node.textContent) && !node.parentElement.closest("a")) {
      found.push(node.textContent.trim());
    }
  }
  return found;
}"""


def _every_kind_of_mail(time_machine) -> None:
    time_machine.move_to("2030-02-20 12:00Z")
    import_course_folder(DEMO)
    course = Course.objects.get(slug="gentle-python")
    cohort = make_cohort(course, start=date(2030, 3, 4), tz="UTC")
    import_course_folder(DEMO, cohort)
    plain = make_cohort(start=date(2030, 3, 4), tz="UTC")  # a course with no emails of its own
    zones = ["America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"]
    learners = [make_learner(cohort, timezone=z, name=f"Learner in {z}") for z in zones]
    mail.send_confirmation(make_learner(cohort, state=Learner.PENDING, name="Pending Person"))
    mail.send_page_link(learners[0])
    scheduling.send_welcome(make_learner(plain, timezone="Asia/Kolkata"))
    for learner in learners:
        scheduling.send_welcome(learner)
    check.send_group_check(cohort)
    group = make_group(cohort, 1)
    for learner in learners:
        Membership.objects.create(group=group, learner=learner)
    add_member(group, "extra@example.org", name="Extra Member")
    welcome.send_welcomes(cohort, [group])
    welcome.send_joined(learners[1], group, 4)
    actor = make_organizer()
    for email in CourseEmail.objects.filter(cohort=cohort, trigger=""):
        scheduling.schedule(email, actor)
    # A digest of yesterday's posts, for a member who takes one.
    add_member(group, "digest@example.org", name="Dee Digest", delivery=Membership.DIGEST)
    Post.objects.create(group=group, author=learners[0], author_name="Learner in Los Angeles", subject="Hello all",
                        text="Here is my first program: https://example.org/a/very/long/path/to/my/program.py",
                        message_id="<p1@example.org>", raw=b"", received_at=timezone.now() - timedelta(hours=3))
    time_machine.move_to("2030-02-21 06:00Z")
    digest.send_digests()
    # Late joiners: ten days into the run (who ask for the weeks they missed), and after its end.
    time_machine.move_to("2030-03-14 12:00Z")
    late = make_learner(cohort, timezone="America/Los_Angeles", name="Late Larry")
    scheduling.send_welcome(late)
    drain()  # the first two weeks' emails go out
    catchup.send_catch_up(late)
    time_machine.move_to("2030-05-01 12:00Z")
    scheduling.send_welcome(make_learner(cohort, timezone="Pacific/Chatham", name="After Anna"))


def test_every_email_fits_a_phone_and_links_every_address(live_server, browser, settings, time_machine):
    settings.BASE_URL = live_server.url
    settings.EMAIL_CONFIG = parse_email_url("outbox:")
    _every_kind_of_mail(time_machine)
    copies = {}
    for message in Message.objects.exclude(body="").order_by("pk"):
        delivery = Delivery.objects.filter(message=message).order_by("pk").first()
        if delivery is not None:
            copies[f"{message.tag}: {message.subject}"] = (Prepared(message), delivery)
    tags = {key.split(":")[0] for key in copies}
    assert {"confirmation", "welcome", "group-welcome", "group-joined", "course-email", "catch-up",
            "digest"} <= tags, tags
    assert sum(key.startswith("course-email") for key in copies) >= 9  # seven weeks, the check, farewell

    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    problems = []
    try:
        for name, (prepared, delivery) in copies.items():
            html = prepared.parts(delivery.pk, delivery.full_context(), "<x@example.org>").html
            page.set_content(html)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                problems.append(f"{name}: {width} px wide")
            bare = page.evaluate(OUTSIDE_LINKS)
            if bare:
                problems.append(f"{name}: addresses not linked: {bare[:3]}")
    finally:
        context.close()
    assert problems == []
