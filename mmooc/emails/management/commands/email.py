"""`mmooc email list|schedule|status|pause|resume|cancel`: course emails from the command line."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mmooc.courses.models import Cohort
from mmooc.emails import confirm, planner, scheduling
from mmooc.emails.audience import describe
from mmooc.emails.models import CourseEmail
from mmooc.lib.counts import counted
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message

ACTOR = "mmooc email"
BAR = 30


class _Ask(Exception):
    """Scheduling needs a yes first: the transaction is rolled back while the question is asked."""

    def __init__(self, view: Any):
        self.view = view


class Command(BaseCommand):
    help = "List, schedule and follow course emails; pause, resume or cancel their sending."
    # Tests hand in the answers to the question "Send N copies now?".
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="list|schedule|status|pause|resume|cancel")
        listing = sub.add_parser("list", help="The emails of a cohort, with their state and schedule.")
        listing.add_argument("cohort", help="the cohort's slug")
        listing.add_argument("--format", choices=["text", "json"], default="text")
        sched = sub.add_parser("schedule", help="Add (or update) one email file to a cohort and schedule it.")
        sched.add_argument("cohort", help="the cohort's slug")
        sched.add_argument("file", help="an email file in the course-folder format (emails/NAME.md)")
        sched.add_argument("--yes", action="store_true",
                           help=f"do not ask before sending more than {confirm.THRESHOLD} copies at once")
        sched.add_argument("--plan", action="store_true",
                           help="print the send plan (recipients, domains, times, duration, warnings) and "
                                "change nothing")
        status = sub.add_parser("status", help="Counts per delivery status; with --follow, a live progress bar.")
        status.add_argument("email", help="the email's id (or the first characters of it)")
        status.add_argument("--format", choices=["text", "json"], default="text")
        status.add_argument("--follow", action="store_true", help="refresh every second until it is sent")
        for name, text in (("pause", "Hold the copies not yet sent."), ("resume", "Send the held copies."),
                           ("cancel", "Stop the email for good: copies not yet sent are cancelled.")):
            sub.add_parser(name, help=text).add_argument("email", help="the email's id (or its first characters)")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"do_{options['action']}")(options)

    # -------------------------------------------------------------- lookups

    def cohort(self, slug: str) -> Cohort:
        cohort = Cohort.objects.select_related("course").filter(slug=slug).first()
        if cohort is None:
            raise CommandError(f"No cohort {slug!r}; `mmooc cohort list` shows them.")
        return cohort

    def email(self, ident: str) -> CourseEmail:
        ident = ident.strip().lower().replace("-", "")
        if len(ident) < 4 or any(c not in "0123456789abcdef" for c in ident):
            raise CommandError("Give the email's id, or at least its first 4 characters (as `mmooc email list` "
                               "shows them).")
        ids = [e for e in CourseEmail.objects.values_list("pk", "public_id") if e[1].hex.startswith(ident)]
        if not ids:
            raise CommandError(f"No email with an id starting {ident!r}.")
        if len(ids) > 1:
            raise CommandError(f"{len(ids)} emails have an id starting {ident!r}; give more characters.")
        return CourseEmail.objects.select_related("cohort__course", "message", "module").get(pk=ids[0][0])

    # -------------------------------------------------------------- actions

    def do_list(self, options: dict) -> None:
        cohort = self.cohort(options["cohort"])
        emails = cohort.emails.select_related("module", "message").order_by("day_offset", "send_at", "pk")
        scheduling.refresh_states(emails)
        rows = [self.row(e) for e in emails]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write(f"No emails in {cohort.slug} yet.")
            return
        self.stdout.write(f"{'ID':<10} {'STATE':<10} {'SCHEDULE':<28} {'AUDIENCE':<28} SUBJECT")
        for r in rows:
            self.stdout.write(f"{r['id'][:8]:<10} {r['state']:<10} {r['schedule']:<28} {r['audience'][:28]:<28} "
                              f"{r['subject']}")

    @staticmethod
    def row(email: CourseEmail) -> dict:
        spec = scheduling.email_schedule(email)
        return {"id": email.public_id.hex, "key": email.key, "state": scheduling.shown_state(email)[0],
                "schedule": "on confirmation (welcome)" if spec is None else spec.text(),
                "audience": describe(email.audience or {}), "subject": scheduling.shown_subject(email),
                "module": email.module.position if email.module else None}

    def do_schedule(self, options: dict) -> None:
        from mmooc.emails.folder import read_email_file
        from mmooc.lib.folderfiles import FolderError

        cohort = self.cohort(options["cohort"])
        try:
            data = read_email_file(options["file"], cohort.course)
        except FolderError as exc:
            self.stderr.write("\n".join(exc.problems))
            raise CommandError(f"{counted(len(exc.problems), 'problem', 'problems')}; nothing was changed.") from None
        if options["plan"]:
            try:
                self._plan(cohort, data)
            except scheduling.ScheduleError as exc:
                raise CommandError(f"{exc} Nothing was changed.") from None
            return
        agreed = None  # the outlook the operator said yes to
        for _ in range(3):
            try:
                email, view, count = self._schedule(cohort, data, agreed, options["yes"])
                break
            except _Ask as ask:
                agreed = self._ask(ask.view, options)
            except scheduling.ScheduleError as exc:
                raise CommandError(str(exc)) from None
        else:
            raise CommandError("The numbers kept changing while you answered; nothing was changed.")
        if email is None:
            return
        times = scheduling.first_and_last(email)
        when = f", from {times[0]:%Y-%m-%d %H:%M} to {times[1]:%Y-%m-%d %H:%M} UTC" if times else ""
        self.stdout.write(f"Scheduled {email.public_id.hex[:8]} {scheduling.shown_subject(email)!r} "
                          f"for {count} recipients{when}.")
        if view is not None and view.note:
            self.stdout.write(view.note)
        if view is not None and view.soon:
            self.stdout.write(f"Copies due now are held for {scheduling.undo_delay().total_seconds():.0f} "
                              f"seconds: `mmooc email cancel {email.public_id.hex[:8]}` stops them all until then.")

    def _plan(self, cohort: Cohort, data: Any) -> None:
        """The plan of scheduling the file now, worked out inside a transaction rolled back."""
        from mmooc.emails.folder import upsert

        with transaction.atomic():
            email = upsert(cohort, data, ACTOR)
            lines = [f"Plan for {scheduling.shown_subject(email)!r} in {cohort.slug} (nothing was changed):"]
            if email.trigger:
                lines.append("The welcome email goes to each learner when they confirm: there is no send to plan.")
            elif scheduling.problems(email):
                lines += ["It cannot be scheduled until these are fixed:", *scheduling.problems(email)]
            else:
                lines += planner.plan_for(email).lines()
            transaction.set_rollback(True)
        self.stdout.write("\n".join(lines))

    def _schedule(self, cohort: Cohort, data: Any, agreed: Any, yes: bool) -> tuple[Any, Any, int]:
        """Upsert and schedule in one transaction; _Ask (nothing kept) when a yes is needed first."""
        from mmooc.emails.folder import upsert

        with transaction.atomic():
            email = upsert(cohort, data, ACTOR)
            if email.trigger:
                self.stdout.write(f"Saved the welcome email {email.public_id.hex[:8]}: it goes to each "
                                  "learner when they confirm.")
                return None, None, 0
            view = confirm.outlook(email)
            if view.needs_confirmation and not yes and (agreed is None or (agreed.soon, agreed.copies)
                                                        != (view.soon, view.copies)):
                raise _Ask(view)
            if email.state == CourseEmail.SCHEDULED:
                count = scheduling.replace(email, ACTOR)
            else:
                count = scheduling.schedule(email, ACTOR)
        return email, view, count

    def _ask(self, view: Any, options: dict) -> Any:
        """The operator's yes to "Send N copies now?"; CommandError (nothing changed) otherwise."""
        stdin = options.get("stdin") or sys.stdin
        details = " ".join(x for x in (view.time_range, view.note) if x)
        if not stdin.isatty() and not options.get("stdin"):
            raise CommandError(f"{view.question} {details} Not asking without a terminal: run again with --yes "
                               "to send them. Nothing was changed.")
        self.stdout.write(f"{view.question} {details}")
        self.stdout.write("Type yes to send them: ", ending="")
        self.stdout.flush()
        if stdin.readline().strip().lower() not in ("y", "yes"):
            raise CommandError("Not sent; nothing was changed.")
        return view

    def do_status(self, options: dict) -> None:
        email = self.email(options["email"])
        while True:
            scheduling.refresh_state(email)
            counts = scheduling.progress_of(email) if email.message_id else {}
            if options["format"] == "json":
                self.stdout.write(json.dumps({"id": email.public_id.hex, "state": scheduling.shown_state(email)[0],
                                              "subject": scheduling.shown_subject(email), "counts": counts},
                                             ensure_ascii=False))
            else:
                self.stdout.write(self.status_line(email, counts))
            pending = sum(counts.get(s, 0) for s in (Delivery.QUEUED, Delivery.SENDING, Delivery.DEFERRED))
            if not options["follow"] or not pending or (email.message and email.message.state != "active"):
                return
            time.sleep(1)  # a live display for an operator; nothing waits on it
            email.refresh_from_db()

    @staticmethod
    def status_line(email: CourseEmail, counts: dict) -> str:
        total = sum(counts.values())
        done = sum(counts.get(s, 0) for s in (Delivery.SENT, Delivery.FAILED, Delivery.SUPPRESSED,
                                               Delivery.CANCELLED))
        filled = round(BAR * done / total) if total else 0
        bar = f"[{'#' * filled}{'.' * (BAR - filled)}] {done:,}/{total:,}"
        detail = ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "no copies queued"
        return f"{scheduling.shown_subject(email)}\n{scheduling.shown_state(email)[0]}  {bar}\n{detail}"

    def _message(self, options: dict) -> tuple[CourseEmail, Message]:
        email = self.email(options["email"])
        if email.message is None:
            raise CommandError(f"The email {email.public_id.hex[:8]} is not scheduled: nothing is queued.")
        return email, email.message

    def do_pause(self, options: dict) -> None:
        email, _message = self._message(options)
        for message in scheduling.messages_of(email):  # every language's copies
            outbox.pause(message)
        from mmooc.audit.log import record

        record(ACTOR, "email.paused", email, f"Paused {scheduling.shown_subject(email)!r}")
        self.stdout.write(f"Paused {email.public_id.hex[:8]}: copies not yet sent are held.")

    def do_resume(self, options: dict) -> None:
        email, _message = self._message(options)
        for message in scheduling.messages_of(email):
            outbox.resume(message)
        from mmooc.audit.log import record

        record(ACTOR, "email.resumed", email, f"Resumed {scheduling.shown_subject(email)!r}")
        self.stdout.write(f"Resumed {email.public_id.hex[:8]}.")

    def do_cancel(self, options: dict) -> None:
        email = self.email(options["email"])
        try:
            count = scheduling.cancel(email, ACTOR)
        except scheduling.ScheduleError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Cancelled {email.public_id.hex[:8]}: {count:,} copies will not be sent.")
