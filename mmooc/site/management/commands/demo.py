from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from mmooc.courses.models import Cohort, Course
from mmooc.groups import staffing
from mmooc.learners.models import Learner
from mmooc.lib.staff import FACILITATOR, ORGANIZER

DEMO_FOLDER = Path(__file__).resolve().parents[2] / "demo" / "gentle-python"
DEMO_COURSE = "gentle-python"
DEMO_COHORT = "gentle-python-demo"
DEFAULT_LEARNERS = 2000
DEMO_THREADS_GROUPS = 12  # groups that get sample conversations
# Emails whose first copies are due within this time of now are scheduled (this week's and next's).
SCHEDULE_WINDOW = timedelta(days=7)


class Command(BaseCommand):
    help = "Set up the demo course with generated learners and groups, then serve it on 127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete all data and load the demo again.")
        parser.add_argument("--learners", type=int, default=None, metavar="N",
                            help=f"Number of generated learners (default {DEFAULT_LEARNERS}).")
        parser.add_argument("--no-serve", action="store_true", help="Load the data, then exit.")
        parser.add_argument("--port", type=int, default=8000, help="Web port (default 8000).")

    def handle(self, *args: Any, **options: Any) -> None:
        # Links in the demo's mail point at the port it serves on, unless MMOOC_BASE_URL says otherwise.
        base = settings.BASE_URL if os.environ.get("MMOOC_BASE_URL") else f"http://127.0.0.1:{options['port']}"
        saved = settings.BASE_URL, settings.CSRF_TRUSTED_ORIGINS
        settings.BASE_URL, settings.CSRF_TRUSTED_ORIGINS = base, [base]
        try:
            self.run(options)
        finally:
            settings.BASE_URL, settings.CSRF_TRUSTED_ORIGINS = saved

    def run(self, options: dict[str, Any]) -> None:
        wanted = options["learners"]
        if wanted is not None and not 0 <= wanted <= 2_000_000:
            raise CommandError("--learners must be between 0 and 2,000,000")
        self.step(f"Data folder: {settings.DATA_DIR}")
        call_command("migrate", interactive=False, verbosity=0)
        if options["reset"]:
            self.step("Deleting all data (--reset) …")
            call_command("flush", interactive=False, verbosity=0)
        cohort = Cohort.objects.filter(slug=DEMO_COHORT).first()
        if cohort is None:
            cohort = self.load(wanted if wanted is not None else DEFAULT_LEARNERS)
        elif wanted is not None and cohort.learners.count() != wanted:
            self.step(f"Regenerating the demo cohort with {wanted:,} learners …")
            cohort.delete()
            cohort = self.load(wanted)
        else:
            self.step("The demo data is already loaded (use --reset to start over).")
        logins = self.staff_logins(cohort)
        self.stdout.write(self.summary(cohort, logins, options["port"]))
        if not options["no_serve"]:
            call_command("serve", port=options["port"])

    def load(self, learners: int) -> Cohort:
        from mmooc.site.folders import import_folder

        started = time.monotonic()
        self.step(f"Loading the demo course from {DEMO_FOLDER.relative_to(DEMO_FOLDER.parents[3])} …")
        import_folder(DEMO_FOLDER)
        course = Course.objects.get(slug=DEMO_COURSE)
        cohort = self.make_cohort(course)
        import_folder(DEMO_FOLDER, cohort=cohort)
        self.generate(cohort, learners)
        self.group(cohort)
        self.converse(cohort)
        self.schedule_emails(cohort)
        self.step(f"Demo ready in {time.monotonic() - started:.1f} s.")
        return cohort

    def make_cohort(self, course: Course) -> Cohort:
        # The course started ten days ago, so the demo shows sent emails, groups that talk,
        # and a signup form still open to late joiners.
        today = timezone.localdate()
        start = today - timedelta(days=10)
        return Cohort.objects.create(
            course=course, slug=DEMO_COHORT, title="Demo cohort", state=Cohort.PUBLISHED,
            signup_opens=timezone.now() - timedelta(days=35), signup_closes=timezone.now() + timedelta(days=14),
            start_date=start, end_date=start + timedelta(weeks=7, days=-1), timezone="UTC",
        )

    def generate(self, cohort: Cohort, count: int) -> None:
        from mmooc.site.demo_data import generate_learners

        started = time.monotonic()
        with transaction.atomic():
            generate_learners(cohort, count, progress=lambda n: self.progress("Generating learners", n, count))
        self.stderr.write("")
        self.step(f"{count:,} learners generated in {time.monotonic() - started:.1f} s.")

    def group(self, cohort: Cohort) -> None:
        from mmooc.groups import welcome
        from mmooc.groups.apply import apply_grouping

        started = time.monotonic()
        # As the staff page applies, then the welcomes as its periodic job writes them: a few
        # hundred groups' members read at a time, not every member held at once.
        grouping = apply_grouping(cohort, seed=0, welcome_now=False)
        welcome.send_pending_welcomes(cohort)
        self.step(f"{grouping.groups.count():,} study groups formed for {grouping.learner_count:,} learners "
                  f"in {time.monotonic() - started:.1f} s.")

    def converse(self, cohort: Cohort) -> None:
        from mmooc.lists.relay import receive
        from mmooc.site.demo_posts import THREADS, thread_messages

        posts = 0
        for group in cohort.groups.order_by("number")[:DEMO_THREADS_GROUPS]:
            members = [(m.learner.email, m.learner.first_name, m.learner.timezone.split("/")[-1].replace("_", " "))
                       for m in group.memberships.active().select_related("learner").order_by("id")[:4]]
            if len(members) < 2:
                continue
            for thread in range(len(THREADS)):
                rotated = members[thread % len(members):] + members[:thread % len(members)]
                for raw in thread_messages(group.address, rotated, thread):
                    receive(raw, _sender(raw), [group.address])
                    posts += 1
        self.step(f"{posts} sample posts relayed in {min(DEMO_THREADS_GROUPS, cohort.groups.count())} groups.")

    def schedule_emails(self, cohort: Cohort) -> None:
        """Schedule the emails of the cohort's current and next week, as an organizer working
        week by week would have; the others stay drafts, to schedule from the dashboard."""
        from mmooc.emails.models import CourseEmail
        from mmooc.emails.scheduling import first_and_last, schedule

        now = timezone.now()
        zones = list(cohort.learners.values_list("timezone", flat=True).distinct())
        scheduled, drafts = [], 0
        for email in cohort.emails.exclude(trigger=CourseEmail.TRIGGER_WELCOME).filter(state=CourseEmail.DRAFT):
            times = first_and_last(email, zones)
            assert times is not None, "a draft course email has a schedule"
            first = times[0]
            if abs(first - now) <= SCHEDULE_WINDOW:
                started = time.monotonic()
                count = schedule(email, None)
                when = "going out now" if first <= now else f"from {first:%A %-d %B}"
                took = time.monotonic() - started
                scheduled.append(f"  {email.key or email.pk}: {count:,} copies, {when} ({took:.1f} s)")
            else:
                drafts += 1
        self.step(f"{len(scheduled)} course emails scheduled, {drafts} left as drafts to schedule from the dashboard:")
        for line in scheduled:
            self.step(line)

    def staff_logins(self, cohort: Cohort) -> list[tuple[str, str, str]]:
        """Fresh passwords for the demo's organizer and facilitator, printed every run; the
        facilitator facilitates the cohort's first two study groups (docs/roles.md)."""
        logins = []
        for username, role in (("organizer", ORGANIZER), ("facilitator", FACILITATOR)):
            user = User.objects.filter(username=username).first() or User(username=username,
                                                                          email=f"{username}@example.org")
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.is_staff = role == ORGANIZER
            user.save()
            user.groups.add(Group.objects.get_or_create(name=role)[0])
            if role == FACILITATOR:
                for group in cohort.groups.order_by("number")[:2]:
                    staffing.assign(User.objects.get(pk=user.pk), group, "demo")
            logins.append((role, username, password))
        return logins

    def summary(self, cohort: Cohort, logins: list[tuple[str, str, str]], port: int) -> str:
        base = settings.BASE_URL.rstrip("/")
        confirmed = cohort.learners.filter(state=Learner.CONFIRMED).count()
        lines = ["", f"Demo course: {cohort.course.title} — {confirmed:,} confirmed learners, "
                 f"{cohort.groups.count():,} study groups", "",
                 f"  Landing page     {base}/",
                 f"  Staff dashboard  {base}/dashboard/",
                 f"  Outbox (mail)    {base}/outbox/   (sign in first, with a login below)", ""]
        lines += [f"  Sign in as {role:<11} user: {username:<12} password: {password}"
                  for role, username, password in logins]
        lines += ["  (the facilitator sees study groups 1 and 2 only: `mmooc staff list`)"]
        return "\n".join(lines) + "\n"

    def step(self, text: str) -> None:
        self.stdout.write(text)

    def progress(self, label: str, done: int, total: int) -> None:
        if sys.stderr.isatty() or done == total:
            width = 30
            filled = int(width * done / total) if total else width
            self.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", ending="")


def _sender(raw: bytes) -> str:
    from email import message_from_bytes, policy
    from email.utils import parseaddr

    return parseaddr(str(message_from_bytes(raw, policy=policy.default)["From"]))[1]
