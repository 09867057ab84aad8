"""Scheduling course emails: render once, enqueue one delivery per learner with its time.

    schedule(email, actor)               enqueue every recipient with their not-before time
    reschedule(email, actor, new)        move the still-queued copies to a new time
    cancel(email, actor)                 stop it; copies not yet sent are cancelled
    replace(email, actor)                new content for a scheduled email: old copies
                                         cancelled, new ones queued (until the first leaves)
    send_test(email, actor, address)     one copy to a staff address, any time

The engine holds each delivery until its not-before time, so scheduling far ahead costs
nothing but rows. Once the first copy has left, the email is read-only.

Undo window: copies that would leave at once (a "now" email, a time already past) are held
for `settings.SEND_UNDO_SECONDS` (MMOOC_SEND_UNDO_SECONDS), so a wrong click can still be
cancelled from the sending page before anything leaves. Emails tied to a phase of the run
(`CourseEmail.phase`, see `phases`) skip the learners for whom the phase is already over.

Late signups: a learner confirmed after an email was scheduled is added to it by the
`learner_confirmed` receiver (`add_late_learner`), if the audience includes them and their
own send time is still ahead; emails whose time has passed stay in the archive instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy as shallow_copy
from datetime import datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mmooc.audit.log import record
from mmooc.checkins.intake import checkin_address
from mmooc.courses.models import Cohort
from mmooc.emails import audience as audiences
from mmooc.emails import phases, templating, timing
from mmooc.emails.exceptions import ScheduleError
from mmooc.emails.models import CourseEmail, CourseEmailVariant, GroupRefresh
from mmooc.emails.signals import email_sent
from mmooc.emails.timing import Schedule
from mmooc.learners.links import SENT_LINKS
from mmooc.lib import bulk, clock, periodic, subjects
from mmooc.lib.ahead import ahead
from mmooc.lib.languages import content_language, in_default_language, speaking, ui_language
from mmooc.lib.mailrender import wrap_text
from mmooc.mailer import counts as mail_counts
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message

TAG, WELCOME_TAG, TEST_TAG = "course-email", "welcome", "course-email-test"
# Statuses of copies that have left the outbox, or tried to: after one, the email is read-only.
STARTED = (Delivery.SENDING, Delivery.SENT, Delivery.DEFERRED, Delivery.FAILED, Delivery.SUPPRESSED)
PENDING = (Delivery.QUEUED, Delivery.SENDING, Delivery.DEFERRED)
# Learners read, and copies written, at a time. A course email to a million learners, in turns
# on one machine: 2,000 took 22.81 s and 23.43 s (peak 124 MB), 5,000 21.23 s and 21.61 s
# (142 MB), 10,000 20.95 s and 21.05 s (172 MB): each batch costs a few round trips more.
BATCH = 5000
DEFAULT_TIME = time(9, 0)


# ---------------------------------------------------------------- rendering

def problems(email: CourseEmail) -> list[str]:
    """What stops the email from being scheduled, each as a sentence with its line."""
    found = template_problems(email)
    if not email.trigger and _incomplete(email):
        found.append("The schedule is incomplete: choose when to send it.")
    return found


def template_problems(email: CourseEmail) -> list[str]:
    links = list((email.cohort.course.links or {}).keys())
    found = [f"Subject, {p}" for p in templating.validate(email.subject, links=links)]
    found += [f"Body, {p}" for p in templating.validate(email.body, links=links)]
    if not email.subject.strip():
        found.insert(0, "The subject is empty.")
    if not email.body.strip():
        found.insert(0, "The body is empty.")
    if email.pk is not None:
        names = dict(variant_languages())
        for variant in email.variants.all():
            name = names.get(variant.language, variant.language)
            found += [f"{name} subject, {p}" for p in templating.validate(variant.subject, links=links)]
            found += [f"{name} body, {p}" for p in templating.validate(variant.body, links=links)]
    return found


def _incomplete(email: CourseEmail) -> bool:
    if email.schedule == CourseEmail.AT:
        return email.send_at is None
    if email.schedule in (CourseEmail.RELATIVE, CourseEmail.LOCAL):
        return email.day_offset is None or email.local_time is None
    return False


def _day(value: Any) -> str:
    return clock.day(value) if value else ""


def stage_values(cohort: Any, stage: clock.Stage | None = None) -> dict[str, Any]:
    """Where the run stands for the email's readers (the cohort's own zone unless `stage` is
    given): before, during (which week, and the earlier weeks with their emails), after."""
    from mmooc.emails.public_views import week_emails

    stage = stage or clock.stage(cohort.start_date, cohort.end_date, cohort.timezone, timezone.now())
    earlier = []
    if not stage.before:
        sent = week_emails(cohort)
        last = clock.course_day(cohort.start_date, stage.days_in)
        for module in cohort.course.modules.all():
            release = module.release_date(cohort)
            if release < last and (stage.after or (release - cohort.start_date).days // 7 + 1 < stage.week):
                earlier.append({"title": module.title, "url": sent.get(module.pk, ""), "date": _day(release),
                                "position": module.position})
    return {"phase": stage.phase, "before": stage.before, "during": stage.during, "after": stage.after,
            "week": stage.week, "earlier": earlier}


def message_context(email: CourseEmail, stage: clock.Stage | None = None) -> dict[str, Any]:
    """The values every recipient of this email shares."""
    from mmooc.emails.links import archive_url, course_url, view_url

    cohort, course, module = email.cohort, email.cohort.course, email.module
    ctx: dict[str, Any] = {
        "course": {"title": course.title, "summary": course.summary, "url": course_url(cohort),
                   "organizer_name": course.organizer_name, "organizer_email": course.organizer_email},
        "cohort": {"title": cohort.title or cohort.slug, "start_date": _day(cohort.start_date),
                   "end_date": _day(cohort.end_date), "timezone": cohort.timezone},
        "links": dict(course.links or {}),
        "archive_url": archive_url(cohort),
        "email": {"url": view_url(email)},
        "module": module_values(module, cohort) if module else {},
        # Worked out only for the emails that speak of it (it reads the sent emails).
        "stage": stage_values(cohort, stage) if "stage" in email.subject + email.body else {},
    }
    return ctx


def module_values(module: Any, cohort: Any) -> dict[str, Any]:
    resources = [{"title": r.title, "url": r.url, "kind": r.get_kind_display().lower(),
                  "minutes": r.minutes or "", "download": r.download_url} for r in module.resources.all()]
    return {"title": module.bare_title, "position": module.position, "goals": module.goals,
            "release_date": _day(module.release_date(cohort)), "resources": resources,
            "full_title": module.title,
            "minutes": sum(r.minutes or 0 for r in module.resources.all())}


def render_email(email: CourseEmail, stage: clock.Stage | None = None, *,
                 for_learners: bool = False) -> tuple[str, str]:
    """Subject and body with the shared values filled in and `{{ name }}` placeholders left;
    `for_learners`: as the learners' copies are written (a weekly email ends with the group block)."""
    ctx = message_context(email, stage)
    subject = " ".join(templating.render(email.subject, ctx).split())
    body = templating.render(email.body, ctx).strip() + "\n"
    return subject, with_group_block(email, body) if for_learners else body


GROUP_NOTE = "group.note"


def with_group_block(email: CourseEmail, body: str) -> str:
    """A weekly email (one with a module) ends with the learner's group, its address and how
    to write to it, or a line for those studying alone or waiting for a group; an email that
    already speaks of `group.note` or `group.address` is left as written."""
    if not email.module_id or email.trigger or GROUP_NOTE in body or "group.address" in body:
        return body
    return f"{body}\n---\n\n{templating.placeholder(GROUP_NOTE)}\n"


def group_note(values: dict[str, str] | None, wants_group: bool) -> str:
    """The group block's words for one learner, in the active language, wrapped for the text part
    (in the HTML part the line ends are only spaces)."""
    if values:
        size = int(values["group.size"] or 0)
        text = ngettext(
            "Your study group is %(name)s, %(size)d person. To write to your group, send an email to "
            "%(address)s (or reply to one of its messages): it reaches everyone in the group.",
            "Your study group is %(name)s, %(size)d people. To write to your group, send an email to "
            "%(address)s (or reply to one of its messages): it reaches everyone in the group.",
            size) % {"name": values["group.name"], "size": size, "address": values["group.address"]}
    elif wants_group:
        text = _("Your study group is not formed yet. When it is, its address will be on your personal page "
                 "and the group will write to you.")
    else:
        text = _("You are studying on your own. If you would like a study group, you can ask for one on your "
                 "personal page.")
    return wrap_text(text)


def shown_subject(email: CourseEmail) -> str:
    """The subject as staff pages, the command line and the audit log show it: the course's
    values filled in (`{{ course.title }}` becomes the title), each learner placeholder as a
    readable marker (`‹first name›`); a subject with a template error, as written."""
    if email.message is not None:
        return subjects.shown(email.message.subject)
    links = list((email.cohort.course.links or {}).keys())
    if not email.subject.strip() or templating.validate(email.subject, links=links):
        return email.subject
    return subjects.shown(templating.render(email.subject, message_context(email)))


def shown_state(email: CourseEmail) -> tuple[str, str]:
    """The email's state as every page, the command line and exports show it: a welcome email
    is active (sent to each learner on confirmation); any other, its stored state. Call
    `refresh_states` first so that a scheduled email whose copies all left reads as sent."""
    if email.trigger:
        return "active", "Active: sent on confirmation"
    return email.state, email.get_state_display()


def footer(course: Any) -> str:
    contact = " · ".join(x for x in (course.organizer_name, course.organizer_email) if x)
    return "\n".join(x for x in (f"{course.title}" + (f" — {contact}" if contact else ""),
                                 course.postal_line) if x)


def list_id(cohort: Any) -> str:
    return f"{cohort.slug}.announce.{settings.LIST_DOMAIN}"


def compose_for(email: CourseEmail, *, tag: str = TAG, stage: clock.Stage | None = None) -> Message:
    from mmooc.emails.links import view_url

    subject, body = render_email(email, stage, for_learners=tag == TAG)
    cohort = email.cohort
    text = footer(cohort.course)
    if tag == TAG:
        # A variant's readers read it on the web in their language.
        language = variant_language(translation.get_language() or "")
        url = view_url(email) + (f"?lang={language}" if language else "")
        web = _("[Read this email on the web]({url})").format(url=url)
        text = f"{checkin_line()}\n\n{web}\n\n{text}"
    # Each copy's links are signed when it is sent, from the learner's public id (its ref): a
    # week-9 email scheduled at the start must not carry links nine weeks old.
    return outbox.compose(kind=Message.SUBSCRIBED, subject=subject, body=body, scope=cohort.scope,
                          tag=tag, list_id=list_id(cohort), list_name=f"{cohort.course.title} ({cohort.slug})",
                          footer=text, reply_to=checkin_address(cohort) if tag == TAG else "",
                          headers=content_language(), ref_values=SENT_LINKS)


def checkin_line() -> str:
    """How to check in, in the footer of every weekly email (their Reply-To records check-ins), in the
    active language: the course's default, or the learner's for one learner's copy."""
    return _("Done with this week? Reply with DONE as the first line (or STUCK and what you are stuck on, "
             "or SKIP); add the week's number for another week, e.g. DONE 2.")


# ---------------------------------------------------------------- languages

def variant_language(code: str) -> str:
    """The variant language a folder, form or learner code names ("pt_BR", "pt" -> "pt-br"):
    the closest translated language, "" when that is the default (the email itself)."""
    language = ui_language(code.replace("_", "-")) if code else settings.LANGUAGE_CODE
    return "" if language == settings.LANGUAGE_CODE else language


def variant_languages() -> list[tuple[str, str]]:
    """(code, name) of the languages an email may have a variant in: the translated ones."""
    return [(code, str(name)) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def as_variant(email: CourseEmail, variant: CourseEmailVariant | None) -> CourseEmail:
    """The email as a variant's readers see it: the variant's subject and body, the rest the email's."""
    if variant is None:
        return email
    shown = shallow_copy(email)
    shown.subject, shown.body = variant.subject, variant.body
    return shown


def variant_for(email: CourseEmail, language: str) -> CourseEmailVariant | None:
    """The email's variant for a learner's language, None when they get the email itself."""
    language = variant_language(language)
    if not language or email.pk is None:
        return None
    return next((v for v in email.variants.all() if v.language == language), None)


def messages_of(email: CourseEmail) -> list[Message]:
    """Every message queued for the email: its own (the default language), then each variant's.
    Pausing, resuming, cancelling and progress cover all of them."""
    if email.pk is None or email.trigger:
        return [email.message] if email.message_id and email.message is not None else []
    found = [email.message] if email.message_id and email.message is not None else []
    ids = {m.pk for m in found}
    variants = CourseEmailVariant.objects.filter(email=email, message__isnull=False).select_related("message")
    found += [v.message for v in variants.order_by("language") if v.message is not None and v.message.pk not in ids]
    return found


def remove_variant(variant: CourseEmailVariant) -> None:
    """Delete a variant; copies of it still queued are cancelled (its readers then get the
    email itself once it is queued again: see replace)."""
    if variant.message is not None:
        outbox.cancel(variant.message)
    variant.delete()


def counts_of(email: CourseEmail) -> mail_counts.Counts:
    """Copies per delivery status over every message of the email, as the mailer last counted
    them (mailer.counts): the one source of the overview, the emails and sending pages, the
    command line and the API, and of the email's state."""
    return mail_counts.total(mail_counts.tallies(m.pk for m in messages_of(email)).values())


def counts_of_emails(emails: Iterable[CourseEmail]) -> dict[int, mail_counts.Counts]:
    """counts_of() for many emails at once (the overview's table): every message of each, its
    own and its language variants', in two queries however many emails."""
    emails = [e for e in emails if e.pk is not None]
    messages: dict[int, list[int]] = {e.pk: [e.message_id] if e.message_id else [] for e in emails}
    plain = [e.pk for e in emails if not e.trigger]
    for email_id, message_id in (CourseEmailVariant.objects.filter(email_id__in=plain, message__isnull=False)
                                 .values_list("email_id", "message_id")):
        if message_id not in messages[email_id]:
            messages[email_id].append(message_id)
    tallies = mail_counts.tallies(m for ids in messages.values() for m in ids)
    return {pk: mail_counts.total(tallies[m] for m in ids if m in tallies) for pk, ids in messages.items()}


def progress_of(email: CourseEmail) -> dict[str, int]:
    """Copies per delivery status over every message of the email, every status present."""
    return counts_of(email).every_status()


def audience_languages(email: CourseEmail, learners: QuerySet | None = None) -> dict[str, int]:
    """The audience's learners per language code, in one query: its sum is the audience's size."""
    found = audiences.recipients(email) if learners is None else learners
    return dict(found.values_list("language").annotate(n=Count("pk")).order_by())


def audience_outline(email: CourseEmail) -> tuple[dict[str, int], set[str]]:
    """The audience's learners per language code, and its time zones, from one query
    (the compose page's count, missing translations and first and last send times)."""
    per_language: dict[str, int] = {}
    zones: set[str] = set()
    for language, zone, n in (audiences.recipients(email).values_list("language", "timezone")
                              .annotate(n=Count("pk")).order_by()):
        per_language[language] = per_language.get(language, 0) + n
        zones.add(zone)
    return per_language, zones


def missing_variants(email: CourseEmail, learners: QuerySet | None = None,
                     per_language: dict[str, int] | None = None) -> list[tuple[str, str, int]]:
    """(language code, name, learners) for each translated language with learners in the
    audience but no variant of the email: they get the email in the default language.
    `per_language`: audience_languages(email), if already read."""
    if per_language is None:
        per_language = audience_languages(email, learners)
    have = {v.language for v in email.variants.all()} if email.pk else set()
    counts: dict[str, int] = {}
    for code, n in per_language.items():
        language = variant_language(code or "")
        if language and language not in have:
            counts[language] = counts.get(language, 0) + n
    names = dict(variant_languages())
    return [(code, names[code], counts[code]) for code, _ in variant_languages() if counts.get(code)]


# ---------------------------------------------------------------- per-learner values

def local_values(cohort: Any, module: Any, zone_name: str) -> dict[str, str]:
    """The values written for one time zone: course days are calendar dates, the same in
    every zone (day N begins at the learner's own midnight), and the calendar in that zone."""
    from mmooc.emails.links import calendar_url

    return {"local.start": clock.day(cohort.start_date),
            "local.module_release": clock.day(module.release_date(cohort)) if module else "",
            "calendar_url": calendar_url(cohort, zone_name or None, variant_language(translation.get_language() or ""))}


def undo_delay() -> timedelta:
    """How long copies due at once are held, so that scheduling can still be undone."""
    return timedelta(seconds=settings.SEND_UNDO_SECONDS)


class Personalizer:
    """Per-learner context and send time for one email, with group data loaded once.

    With `hold`, no copy is due before now + hold (the undo window). With `learners` (ids),
    the group data of these learners only: a welcome or a preview for one learner reads one
    membership, not the cohort's."""

    def __init__(self, email: CourseEmail, now: datetime | None = None, *, with_groups: bool = True,
                 hold: timedelta | None = None, learners: Iterable[int] | None = None, links: bool = True):
        self.email, self.cohort = email, email.cohort
        self.now = now or timezone.now()
        self.held_until = self.now + hold if hold else None
        self.spec = email_schedule(email)
        self.groups = _group_values(self.cohort, learners) if with_groups else {}
        from mmooc.learners.links import context_maker, name_values

        # Links are signed with one key derivation per email (none with links=False: the copies'
        # links are made when each is sent); dates and send times are worked out once per time
        # zone (a cohort of 100,000 has a few hundred zones at most).
        self.make_context = context_maker("cohort") if links else lambda _public_id, name: name_values(name)
        self.local_values: dict[tuple[str, str], dict[str, str]] = {}
        self.instants: dict[str | None, datetime] = {}
        self.not_befores: dict[str | None, datetime] = {}
        self.notes: dict[tuple[str, str | bool], str] = {}

    def context(self, learner: Any, language: str | None = None) -> dict[str, str]:
        """`language`: the active language, when the caller knows it (asked once per batch, not
        twice per learner)."""
        if language is None:
            language = translation.get_language() or ""
        values = self.make_context(learner.public_id, learner.name)
        values["learner.timezone"] = learner.timezone
        group = self.groups.get(learner.pk)
        values.update(group or {"group.name": "", "group.address": "", "group.size": ""})
        values[GROUP_NOTE] = self._note(group, getattr(learner, "wants_group", True), language)
        values.update(self._local_dates(learner.timezone, language))
        return values

    def _note(self, group: dict[str, str] | None, wants_group: bool, language: str) -> str:
        # Written once per group (or way of studying alone) and language.
        key = (language, group["group.address"] if group else wants_group)
        if key not in self.notes:
            self.notes[key] = group_note(group, wants_group)
        return self.notes[key]

    def _local_dates(self, zone_name: str, language: str | None = None) -> dict[str, str]:
        # Per language too: a variant's readers get the dates written in their language.
        key = (translation.get_language() or "" if language is None else language, zone_name)
        if key not in self.local_values:
            self.local_values[key] = local_values(self.cohort, self.email.module, zone_name)
        return self.local_values[key]

    def instant(self, learner_zone: str | None) -> datetime:
        """When the schedule says a learner in this zone gets the email (no undo window)."""
        if self.spec is None:
            return self.now
        if learner_zone not in self.instants:
            self.instants[learner_zone] = timing.send_instant(
                self.spec, start=self.cohort.start_date, cohort_zone=self.cohort.timezone,
                learner_zone=learner_zone, now=self.now)
        return self.instants[learner_zone]

    def not_before(self, learner_zone: str | None) -> datetime:
        """The copy's not-before time: the scheduled instant, held to the undo window's end."""
        found = self.not_befores.get(learner_zone)
        if found is None:
            # Once per zone: comparing aware datetimes of different zones asks each its offset.
            when = self.instant(learner_zone)
            found = self.not_befores[learner_zone] = max(when, self.held_until) if self.held_until else when
        return found

    def leaves(self, learner_zone: str | None) -> datetime:
        """When the copy actually leaves: a time already past means at once."""
        return max(self.not_before(learner_zone), self.now)

    def recipient(self, learner: Any, language: str | None = None) -> outbox.Recipient:
        return outbox.Recipient(learner.email, self.context(learner, language), self.not_before(learner.timezone),
                                ref=str(learner.public_id))


def _group_values(cohort: Any, learner_ids: Iterable[int] | None = None) -> dict[int, dict[str, str]]:
    from mmooc.groups.models import Membership, StudyGroup, active_through

    members = Membership.objects.active().filter(group__cohort=cohort)
    groups = StudyGroup.objects.filter(active_through("memberships"), cohort=cohort)
    if learner_ids is not None:
        members = members.filter(learner_id__in=list(learner_ids))
        groups = groups.filter(pk__in=members.values("group_id"))
    sizes = dict(groups.annotate(n=Count("memberships")).values_list("pk", "n"))
    # One dict per group, shared by its members (read-only): a dict and two strings per member
    # were some 300 MB for a cohort of a million.
    shared: dict[int, dict[str, str]] = {}
    found: dict[int, dict[str, str]] = {}
    for lid, gid, name, address in members.values_list("learner_id", "group_id", "group__name",
                                                        "group__address").iterator(chunk_size=BATCH):
        if gid not in shared:
            shared[gid] = {"group.name": name, "group.address": address, "group.size": str(sizes.get(gid, 0))}
        found[lid] = shared[gid]
    return found


GROUPS_JOB = "emails.groups"


def request_group_refresh(cohort: Any) -> None:
    """Have the periodic job GROUPS_JOB refresh the cohort's queued copies (`refresh_groups`)
    soon: a grouping was just applied. Recorded, so that no process's restart loses it."""
    GroupRefresh.objects.update_or_create(cohort_id=cohort.pk, defaults={"requested_at": timezone.now()})
    periodic.wake(GROUPS_JOB)


def refresh_pending_groups() -> int:
    """The periodic job GROUPS_JOB: every cohort whose copies are to show its groups anew;
    returns the copies changed. A request made again while one runs is kept for the next turn."""
    changed = 0
    for pending in GroupRefresh.objects.select_related("cohort"):
        changed += refresh_groups(pending.cohort)
        GroupRefresh.objects.filter(cohort_id=pending.cohort_id, requested_at=pending.requested_at).delete()
    return changed


def refresh_groups(cohort: Any, learner_ids: Iterable[int] | None = None) -> int:
    """Queued copies of the cohort's course emails that show a learner's group (name, address,
    size, the group block) take the group as it is now: groups are often formed after the
    weekly emails were scheduled. Only these learners' copies when `learner_ids` is given.

    The whole cohort on PostgreSQL: one UPDATE per message (`_refresh_in_database`), nothing
    per learner held in memory."""
    from mmooc.learners.models import Learner

    messages = [m for m in Message.objects.filter(scope=cohort.scope, tag=TAG).exclude(state=Message.CANCELLED)
                if any(name.startswith("group.") for name in outbox.used_names(m) or ())]
    if not messages:
        return 0
    if learner_ids is None and connection.vendor == "postgresql":
        return sum(_refresh_in_database(cohort, message) for message in messages)
    groups = _group_values(cohort)
    learners = Learner.objects.filter(cohort=cohort)
    if learner_ids is not None:
        learners = learners.filter(pk__in=list(learner_ids))
    rows = list(learners.values_list("pk", "public_id", "wants_group"))
    changed = 0
    for message in messages:
        # One set of values per group (or way of studying alone), shared by the learners it
        # is for: not a dict per learner of the cohort.
        shared: dict[str | bool, dict[str, str]] = {}
        values: dict[str, dict[str, str]] = {}
        with speaking((message.headers or {}).get("Content-Language") or settings.LANGUAGE_CODE):
            for pk, public_id, wants in rows:
                group = groups.get(pk)
                key = group["group.address"] if group else wants
                if key not in shared:
                    shared[key] = {**(group or dict.fromkeys(("group.name", "group.address", "group.size"), "")),
                                   GROUP_NOTE: group_note(group, wants)}
                values[str(public_id)] = shared[key]
        changed += outbox.refresh_queued(message, values)
    return changed


def _refresh_in_database(cohort: Any, message: Message) -> int:
    """`refresh_groups` for one message and the whole cohort in one UPDATE (PostgreSQL): the
    group block's words are made here once per group, in the message's language; learners are
    matched to their queued copies, and each copy takes the values it holds, in the database."""
    from mmooc.groups.models import Membership, StudyGroup, active_through
    from mmooc.learners.models import Learner

    ids: list[int] = []
    columns: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])  # name, address, size, note
    with speaking((message.headers or {}).get("Content-Language") or settings.LANGUAGE_CODE):
        rows = (StudyGroup.objects.filter(active_through("memberships"), cohort=cohort)
                .annotate(n=Count("memberships")).values_list("pk", "name", "address", "n"))
        for pk, name, address, n in rows.iterator(chunk_size=BATCH):
            values = {"group.name": name, "group.address": address, "group.size": str(n)}
            ids.append(pk)
            for column, value in zip(columns, (name, address, str(n), group_note(values, True)), strict=True):
                column.append(value)
        waiting, alone = group_note(None, True), group_note(None, False)
    sql = f"""
        WITH g (id, name, address, size, note) AS (
            SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])),
        v AS (
            SELECT l.public_id::text AS ref, CASE WHEN g.id IS NULL THEN jsonb_build_object(
                       'group.name', '', 'group.address', '', 'group.size', '',
                       '{GROUP_NOTE}', CASE WHEN l.wants_group THEN %s ELSE %s END)
                   ELSE jsonb_build_object('group.name', g.name, 'group.address', g.address,
                                           'group.size', g.size, '{GROUP_NOTE}', g.note) END AS v
            FROM {Learner._meta.db_table} l
            LEFT JOIN {Membership._meta.db_table} m ON m.learner_id = l.id AND m.left_at IS NULL
            LEFT JOIN g ON g.id = m.group_id
            WHERE l.cohort_id = %s),
        new AS (
            SELECT d.id, d.context::jsonb || (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(v.v) e
                                              WHERE d.context::jsonb ? e.key) AS context
            FROM {Delivery._meta.db_table} d JOIN v ON v.ref = d.ref
            WHERE d.message_id = %s AND d.status = %s)
        UPDATE {Delivery._meta.db_table} d SET context = new.context::text FROM new
        WHERE d.id = new.id AND d.status = %s AND new.context IS NOT NULL AND new.context <> d.context::jsonb"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, *columns, waiting, alone, cohort.pk, message.pk, Delivery.QUEUED, Delivery.QUEUED])
        return int(cursor.rowcount)


def email_schedule(email: CourseEmail) -> Schedule | None:
    """The email's schedule as the arithmetic sees it; None for triggered emails."""
    if email.trigger:
        return None
    if email.schedule == CourseEmail.AT and email.send_at:
        local = email.send_at.astimezone(_zone(email.cohort.timezone)).replace(tzinfo=None)
        return Schedule(timing.AT, at=local)
    if email.schedule in (CourseEmail.RELATIVE, CourseEmail.LOCAL):
        # An incomplete schedule reads as day 0 at 09:00; problems() refuses to schedule it.
        return Schedule(email.schedule, day=email.day_offset or 0, time=email.local_time or DEFAULT_TIME)
    return Schedule(timing.NOW)


def apply_schedule(email: CourseEmail, spec: Schedule) -> list[str]:
    """Set the email's schedule fields from `spec`; returns the names of the fields set."""
    email.schedule = spec.kind
    at = spec.at if spec.kind == timing.AT else None
    email.send_at = timing.at_instant(at, email.cohort.timezone) if at is not None else None
    email.day_offset = spec.day if spec.kind in (timing.RELATIVE, timing.LOCAL) else None
    email.local_time = spec.time if spec.kind in (timing.RELATIVE, timing.LOCAL) else None
    return ["schedule", "send_at", "day_offset", "local_time"]


def _zone(name: str) -> Any:
    from mmooc.lib.timezones import zone

    return zone(name)


def first_and_last(email: CourseEmail, zones: Iterable[str] | None = None) -> tuple[datetime, datetime] | None:
    """The earliest and latest send times over the audience's zones (for the compose page)."""
    spec = email_schedule(email)
    if spec is None:
        return None
    p = Personalizer(email, with_groups=False)
    if zones is None:
        zones = audiences.recipients(email).values_list("timezone", flat=True).distinct()
    times = [p.not_before(z) for z in (list(zones) or [email.cohort.timezone])]
    return min(times), max(times)


# ---------------------------------------------------------------- state

def is_locked(email: CourseEmail) -> bool:
    """True once a copy has left (or tried to): the email can no longer change."""
    if email.state in (CourseEmail.SENDING, CourseEmail.SENT):
        return True
    return bool(not email.trigger and email.message_id
                and Delivery.objects.filter(message__in=messages_of(email), status__in=STARTED).exists())


def refresh_state(email: CourseEmail) -> str:
    """Move a scheduled email to sending, then sent, from its deliveries' statuses."""
    if email.trigger or not email.message_id or email.state not in (CourseEmail.SCHEDULED, CourseEmail.SENDING):
        return email.state
    counts = progress_of(email)
    state = email.state
    if any(counts[s] for s in STARTED):
        state = CourseEmail.SENDING
    if state == CourseEmail.SENDING and not any(counts[s] for s in PENDING):
        state = CourseEmail.SENT
    if state != email.state:
        # Conditional: of two processes refreshing at once, one moves it and says so.
        moved = CourseEmail.objects.filter(pk=email.pk, state=email.state).update(state=state)
        email.state = state
        if moved and state == CourseEmail.SENT:
            email_sent.send(sender=CourseEmail, email=email)
    return state


def refresh_states(emails: QuerySet) -> None:
    for email in emails.filter(state__in=(CourseEmail.SCHEDULED, CourseEmail.SENDING)).select_related("message"):
        refresh_state(email)


def refresh_sending() -> None:
    """The periodic job `emails.states`: emails whose copies have all finished read as sent (and
    `email_sent` is told) even when no staff page is open."""
    refresh_states(CourseEmail.objects.filter(trigger=CourseEmail.TRIGGER_NONE).exclude(message=None))


# ---------------------------------------------------------------- actions

def _check_schedulable(email: CourseEmail) -> Schedule:
    """The email's schedule, or ScheduleError saying why it cannot be scheduled."""
    found = problems(email)
    if found:
        raise ScheduleError("Fix these first: " + " ".join(found))
    spec = email_schedule(email)
    if spec is None:
        raise ScheduleError("A welcome email is sent when each learner confirms; it is not scheduled.")
    return spec


def _compose_all(email: CourseEmail, variants: Iterable[CourseEmailVariant]) -> dict[str, Message]:
    """The email's own message (key "") and one per variant, each written in its language
    (dates, and the Content-Language header the engine writes the footer from)."""
    found = {"": compose_for(email)}
    for variant in variants:
        with speaking(variant.language):
            found[variant.language] = compose_for(as_variant(email, variant))
    return found


def _enqueue(email: CourseEmail, messages: dict[str, Message], learners: QuerySet, now: datetime | None = None,
             hold: timedelta | None = None) -> int:
    """Queue each learner on the message of their language ("" is the email's own).

    The learners are read BATCH at a time; each batch's copies are made (values, send times,
    the outbox's checks and, on PostgreSQL, the COPY text) in a helper thread while the
    database writes the batch before (`mmooc.lib.ahead`): this thread only reads learners and
    hands the text over. Their links are made when each copy is sent (mailer.refvalues)."""
    # Group values cost a query over every membership: only read when the email shows them.
    used: set[str] = set()
    for message in messages.values():
        used |= outbox.used_names(message) or set()
    # The links of messages that make them from each copy's ref when it is sent are not signed here.
    links = any(m.ref_values != SENT_LINKS for m in messages.values())
    copies = _Copies(email, messages, Personalizer(email, now, with_groups=any(name.startswith("group.")
                                                                                for name in used), hold=hold,
                                                   links=links), for_copy=connection.vendor == "postgresql")
    # Named rows, not model instances: a learner is read a million times for a large cohort.
    # In the order of their public ids, which are the copies' refs: the outbox's index of refs
    # (a learner's history) then takes each message's copies in one sweep from its start to its
    # end, beside the learner's copies of earlier messages, instead of at a million random
    # places (3.5 s of a million copies' COPY on a 2-core machine). Read as a whole and sorted,
    # not through the index of public ids at random places of the table (bulk.read_whole).
    rows = bulk.read_whole(learners.order_by("public_id").values_list(
        "pk", "public_id", "email", "name", "timezone", "language", "wants_group", named=True).iterator(
        chunk_size=BATCH))
    batches = iter(lambda: list(islice(rows, BATCH)), [])
    added = 0
    for prepared in ahead(batches, copies.prepare):
        for key, rows_of_key in prepared.items():
            added += outbox.enqueue_prepared(messages[key], rows_of_key)
    return added


class _Copies:
    """One batch of learners' copies, each on the message of their language, checked by the
    outbox: made without the database (in `ahead`'s helper thread)."""

    def __init__(self, email: CourseEmail, messages: dict[str, Message], personalizer: Personalizer,
                 for_copy: bool = False):
        self.messages, self.p = messages, personalizer
        self.for_copy = for_copy  # PostgreSQL: the rows' COPY text is made here too, not by the writing thread
        self.phase = phases.PhaseClock(email)
        self.languages: dict[str, str] = {}  # a learner's language → the key of its message
        self.late: dict[str | None, bool] = {}  # a time zone → its copies would arrive after the phase
        # The language each message is written in, as Personalizer keys its values: asked once here.
        self.active = {key: _active_language(key) for key in messages}

    def prepare(self, learners: list[Any]) -> dict[str, outbox.Prepared]:
        p, by_key = self.p, {}
        batches: dict[str, list[outbox.Recipient]] = {key: [] for key in self.messages}
        for learner in learners:
            zone = learner.timezone
            late = self.late.get(zone)
            if late is None:
                late = self.late[zone] = self.phase.over(zone, p.leaves(zone))
            if late:
                continue
            if learner.language not in self.languages:
                found = variant_language(learner.language or "")
                self.languages[learner.language] = found if found in self.messages else ""
            key = self.languages[learner.language]
            if key:
                with speaking(key):
                    batches[key].append(p.recipient(learner, self.active[key]))
            else:
                batches[key].append(p.recipient(learner, self.active[key]))
        for key, batch in batches.items():
            if batch:
                by_key[key] = outbox.prepare(self.messages[key], batch, for_copy=self.for_copy)
        return by_key


def _active_language(variant: str) -> str:
    """The language active while a variant's copies are made ("": the email's own)."""
    if not variant:
        return translation.get_language() or ""
    with speaking(variant):
        return translation.get_language() or ""


@in_default_language
def schedule(email: CourseEmail, actor: Any, *, hold: bool = True) -> int:
    """Queue one copy per recipient at their time; returns how many copies were queued.

    Copies due at once are held for the undo window unless `hold` is False. An email whose
    phase is over for every recipient is refused (ScheduleError says so)."""
    spec = _check_schedulable(email)
    with transaction.atomic():
        locked = CourseEmail.objects.select_for_update().get(pk=email.pk)
        if locked.state not in (CourseEmail.DRAFT, CourseEmail.CANCELLED):
            raise ScheduleError(f"This email is already {locked.get_state_display().lower()}.")
        variants = list(email.variants.all())
        messages = _compose_all(email, variants)
        now = timezone.now()
        learners = audiences.recipients(email)
        count = _enqueue(email, messages, learners, now, undo_delay() if hold else None)
        if not count and email.phase and learners.exists():
            raise ScheduleError(phases.note(email, learners.count(), 0, now))
        for variant in variants:
            variant.message = messages[variant.language]
            variant.save(update_fields=["message"])
        email.message, email.state, email.updated_at = messages[""], CourseEmail.SCHEDULED, timezone.now()
        email.save(update_fields=["message", "state", "updated_at"])
        record(actor, "email.scheduled", email, f"Scheduled {shown_subject(email)!r} for {count} recipients",
               schedule=spec.text(), recipients=count)
    return count


def _pending_messages(email: CourseEmail) -> list[Message]:
    """The email's messages (every language's), when it may still change."""
    if email.state != CourseEmail.SCHEDULED or email.message is None:
        raise ScheduleError("Only a scheduled email can be changed this way.")
    if is_locked(email):
        raise ScheduleError("The first copies have already been sent: this email can no longer change.")
    return messages_of(email)


@in_default_language
def reschedule(email: CourseEmail, actor: Any, new: Schedule, *, hold: bool = True) -> int:
    """Move the queued copies to the new time; returns how many moved. Copies now due at once
    are held for the undo window (unless `hold` is False); copies whose new time falls after
    the email's phase are cancelled."""
    with transaction.atomic():
        messages = _pending_messages(email)
        old = email_schedule(email)
        fields = apply_schedule(email, new)
        email.updated_at = timezone.now()
        email.save(update_fields=[*fields, "updated_at"])
        moved = _move_queued(email, messages, undo_delay() if hold else None)
        record(actor, "email.rescheduled", email, f"Rescheduled {shown_subject(email)!r}",
               old=old.text() if old else "", new=new.text(), moved=moved)
    return moved


def _move_queued(email: CourseEmail, messages: list[Message], hold: timedelta | None = None) -> int:
    """Give each queued copy its new time: one update per distinct time and chunk of rows."""
    p = Personalizer(email, with_groups=False, hold=hold)
    phase = phases.PhaseClock(email)
    zones = _learner_zones(email.cohort)
    by_time: dict[datetime, list[int]] = {}
    late: list[int] = []
    queued = Delivery.objects.filter(message__in=messages, status=Delivery.QUEUED)
    for pk, ref in queued.values_list("pk", "ref").iterator(BATCH):
        zone = zones.get(ref)
        if phase.over(zone, p.leaves(zone)):
            late.append(pk)
        else:
            by_time.setdefault(p.not_before(zone), []).append(pk)
    moved = 0
    for when, pks in by_time.items():
        for chunk in _chunks(pks):
            # Conditional: a copy the engine claimed meanwhile keeps its status and time.
            moved += Delivery.objects.filter(pk__in=chunk, status=Delivery.QUEUED).update(not_before=when)
    for chunk in _chunks(late):
        Delivery.objects.filter(pk__in=chunk, status=Delivery.QUEUED).update(status=Delivery.CANCELLED,
                                                                             updated_at=timezone.now())
    return moved


def _learner_zones(cohort: Any) -> dict[str, str]:
    """Learner reference (as stored on deliveries) → time zone, for the whole cohort at once."""
    rows = cohort.learners.values_list("public_id", "timezone").iterator(chunk_size=BATCH)
    return {str(pid): tz for pid, tz in rows}


def _chunks(items: list, size: int = 900) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def cancel(email: CourseEmail, actor: Any) -> int:
    """Stop the email; returns how many queued copies were cancelled."""
    with transaction.atomic():
        if email.state not in (CourseEmail.SCHEDULED, CourseEmail.SENDING, CourseEmail.DRAFT):
            raise ScheduleError(f"This email is {email.get_state_display().lower()}: nothing to cancel.")
        count = sum(outbox.cancel(message) for message in messages_of(email))
        email.state, email.updated_at = CourseEmail.CANCELLED, timezone.now()
        email.save(update_fields=["state", "updated_at"])
        record(actor, "email.cancelled", email, f"Cancelled {shown_subject(email)!r}", cancelled=count)
    return count


@in_default_language
def replace(email: CourseEmail, actor: Any, *, hold: bool = True) -> int:
    """The email's content or audience changed while scheduled: queue a fresh set of copies.

    The old message is paused first so the engine takes no more copies of it, then checked:
    if a copy left meanwhile, it is resumed and the change refused.
    """
    messages = _pending_messages(email)
    for message in messages:
        outbox.pause(message)
    if Delivery.objects.filter(message__in=messages, status__in=STARTED).exists():
        for message in messages:
            outbox.resume(message)
        raise ScheduleError("The first copies have already been sent: this email can no longer change.")
    with transaction.atomic():
        for message in messages:
            outbox.cancel(message)
        CourseEmailVariant.objects.filter(email=email).update(message=None)
        CourseEmail.objects.filter(pk=email.pk).update(state=CourseEmail.DRAFT, message=None)
        email.state, email.message = CourseEmail.DRAFT, None
        count = schedule(email, actor, hold=hold)
        record(actor, "email.rescheduled", email, f"Queued the changed {shown_subject(email)!r} again",
               recipients=count)
    return count


@in_default_language
def send_test(email: CourseEmail, actor: Any, address: str, learner: Any = None) -> Delivery:
    """One copy to a staff address, as `learner` (or a sample learner) would receive it."""
    found = template_problems(email)
    if found:
        raise ScheduleError("Fix these first: " + " ".join(found))
    subject, body = render_email(email, for_learners=True)
    values = sample_context(email, learner)
    try:
        delivery = outbox.send(to=address, subject=f"[Test] {subject}", body=body, context=values,
                               kind=Message.TRANSACTIONAL, scope=Cohort.scope_for(email.cohort_id), tag=TEST_TAG,
                               footer=footer(email.cohort.course))
    except outbox.OutboxError as exc:
        raise ScheduleError(str(exc)) from None
    record(actor, "email.test-sent", email, f"Test copy of {shown_subject(email)!r} to {address}", to=address)
    return delivery


SAMPLE = {"learner.first_name": "Ada", "learner.name": "Ada Lovelace", "learner.timezone": "Europe/London",
          "group.name": "Group 7", "group.size": "38"}


@in_default_language
def sample_context(email: CourseEmail, learner: Any = None) -> dict[str, str]:
    """Per-learner values for a preview: a real learner's, or a generated sample."""
    if learner is not None:
        return Personalizer(email, learners=[learner.pk]).context(learner)
    from mmooc.learners.models import Learner

    sample = Learner(cohort=email.cohort, email="ada@example.org", name=SAMPLE["learner.name"],
                     timezone=email.cohort.timezone)
    values = Personalizer(email, with_groups=False).context(sample)  # a sample is in no group
    values.update(SAMPLE, **{"learner.timezone": email.cohort.timezone})
    values["group.address"] = f"{email.cohort.slug}-group-7@{settings.LIST_DOMAIN}"
    values[GROUP_NOTE] = group_note({k: v for k, v in values.items() if k.startswith("group.")}, True)
    return values


# ---------------------------------------------------------------- late signups and welcome

@in_default_language
def add_late_learner(learner: Any, now: datetime | None = None) -> int:
    """Add a newly confirmed learner to the cohort's scheduled emails still ahead of them."""
    now = now or timezone.now()
    added = 0
    emails = (CourseEmail.objects.filter(cohort=learner.cohort, trigger="", message__isnull=False,
                                         state__in=(CourseEmail.SCHEDULED, CourseEmail.SENDING))
              .exclude(message__state=Message.CANCELLED).select_related("cohort__course", "module", "message"))
    for email in emails:
        if not audiences.recipients(email).filter(pk=learner.pk).exists():
            continue
        p, spec, message = Personalizer(email, now, learners=[learner.pk]), email_schedule(email), email.message
        if spec is None or message is None or spec.kind == timing.NOW or p.not_before(learner.timezone) <= now:
            continue
        if phases.PhaseClock(email).over(learner.timezone, p.not_before(learner.timezone)):
            continue
        variant = variant_for(email, learner.language)
        if variant is not None and variant.message is not None and variant.message.state != Message.CANCELLED:
            with speaking(variant.language):
                added += outbox.enqueue(variant.message, [p.recipient(learner)])
            continue
        added += outbox.enqueue(message, [p.recipient(learner)])
    return added


DEFAULT_WELCOME_SUBJECT = "Welcome to {{ course.title }}!"
TEMPLATES = Path(__file__).parent / "templates" / "emails"


def _translated_file(name: str, language: str) -> Path:
    """templates/emails/<name>.md, or its translation <name>.<language>.md when there is one."""
    stem, suffix = name.rsplit(".", 1)
    path = TEMPLATES / f"{stem}.{language}.{suffix}"
    return path if language and path.is_file() else TEMPLATES / name


def default_welcome_body(language: str = "") -> str:
    """The built-in welcome's body, in `language` (a translated language code) when it is translated."""
    return _translated_file("default_welcome.md", language).read_text(encoding="utf-8")


def default_welcome_subject() -> str:
    return _("Welcome to {{ course.title }}!")


def send_welcome(learner: Any, now: datetime | None = None) -> int:
    """Queue the cohort's welcome email (or the built-in one) for a learner who just confirmed.

    Before the start every learner shares one message. A learner who joins during the run (or
    after it) gets the message written for their stage on their own calendar: which week it
    is, the earlier weeks and their emails; learners at the same stage share it.
    """
    if learner.unsubscribed_at or outbox.is_suppressed(learner.email):
        return 0
    scope = Cohort.scope_for(learner.cohort_id)
    ref = str(learner.public_id)
    if Delivery.objects.filter(message__scope=scope, message__tag=WELCOME_TAG, ref=ref).exists():
        return 0
    cohort = learner.cohort
    stage = clock.stage(cohort.start_date, cohort.end_date, learner.timezone, now or timezone.now())
    with speaking(learner.language):
        email = _welcome_email(cohort, translation.get_language() or "")
    # The built-in welcome in the learner's language; a course's own in the variant of the
    # learner's language, else as written. Each language's message is kept on its holder.
    variant = variant_for(email, learner.language) if email.pk else None
    holder: Any = variant or email
    language = variant.language if variant else (learner.language if email.pk is None else settings.LANGUAGE_CODE)
    with transaction.atomic(), speaking(language):
        if stage.before:
            message = holder.message if holder.message_id else None
            if message is None or message.state == Message.CANCELLED:
                message = compose_for(as_variant(email, variant), tag=WELCOME_TAG, stage=stage)
                if email.pk:
                    holder.message = message
                    holder.save(update_fields=["message"])
        else:
            message = _staged_welcome(as_variant(email, variant), stage)
        p = Personalizer(email, learners=[learner.pk])
        return outbox.enqueue(message, [outbox.Recipient(learner.email, p.context(learner), ref=ref)])


LATE_NOTE = (Path(__file__).parent / "templates" / "emails" / "late_note.md")


def _staged_welcome(email: CourseEmail, stage: clock.Stage) -> Message:
    """The welcome written for a stage after the start; a course's own welcome that says
    nothing of stages gets the built-in note on where the run stands put first."""
    if "stage." not in email.body:
        note = _translated_file(LATE_NOTE.name, translation.get_language() or "")
        email = CourseEmail(cohort=email.cohort, subject=email.subject, trigger=email.trigger,
                            body=note.read_text(encoding="utf-8") + "\n" + email.body)
    subject, body = render_email(email, stage)
    existing = (Message.objects.filter(scope=email.cohort.scope, tag=WELCOME_TAG, subject=subject, body=body)
                .exclude(state=Message.CANCELLED).order_by("-pk").first())
    return existing or compose_for(email, tag=WELCOME_TAG, stage=stage)


def _welcome_email(cohort: Any, language: str = "") -> CourseEmail:
    email = (CourseEmail.objects.filter(cohort=cohort, trigger=CourseEmail.TRIGGER_WELCOME)
             .exclude(state=CourseEmail.CANCELLED).select_related("message", "cohort__course").first())
    if email is not None and not problems(email):
        return email
    # The built-in welcome, kept as one message per cohort and language (an unsaved email
    # renders it; its subject tells the languages apart).
    email = CourseEmail(cohort=cohort, subject=default_welcome_subject(), body=default_welcome_body(language),
                        trigger=CourseEmail.TRIGGER_WELCOME)
    subject = render_email(email)[0]
    existing = (Message.objects.filter(scope=cohort.scope, tag=WELCOME_TAG, course_email__isnull=True,
                                       subject=subject)
                .exclude(state=Message.CANCELLED).order_by("-pk").first())
    email.message = existing
    return email


# ---------------------------------------------------------------- copies

COPY_FIELDS = ["module", "subject", "body", "audience", "trigger", "schedule", "send_at", "day_offset",
               "local_time", "phase"]


def duplicate(email: CourseEmail, actor: Any, cohort: Any = None, shift_days: int = 0) -> CourseEmail:
    """A draft copy of the email (in another cohort if given; `at` times moved by shift_days)."""
    copy = CourseEmail(cohort=cohort or email.cohort, created_by=actor if getattr(actor, "pk", None) else None,
                       **{f: getattr(email, f) for f in COPY_FIELDS})
    if copy.send_at and shift_days:
        copy.send_at += timedelta(days=shift_days)
    if cohort is not None and email.key and not cohort.emails.filter(key=email.key).exists():
        copy.key = email.key
    copy.save()
    CourseEmailVariant.objects.bulk_create(
        CourseEmailVariant(email=copy, language=v.language, subject=v.subject, body=v.body)
        for v in email.variants.all())
    return copy


def copy_cohort(source: Any, target: Any, actor: Any) -> list[CourseEmail]:
    """Every email of one cohort as drafts in another, `at` dates moved by the start dates' gap."""
    if source.course_id != target.course_id:
        raise ScheduleError("Emails can only be copied between cohorts of the same course.")
    shift = (target.start_date - source.start_date).days
    with transaction.atomic():
        copies = [duplicate(e, actor, target, shift) for e in source.emails.order_by("pk")]
        record(actor, "email.copied", target, f"Copied {len(copies)} emails from {source.slug}",
               source=source.slug, shift_days=shift)
    return copies


@in_default_language
def retime(learner: Any) -> int:
    """After a learner's change of time zone: their queued copies of emails sent in learner-local
    time move to the new zone's clock, and every queued copy's local dates follow. Returns how
    many copies moved."""
    moved = 0
    local_keys = ("learner.timezone", "local.start", "local.module_release")
    emails = (CourseEmail.objects.filter(cohort=learner.cohort_id, trigger="", message__isnull=False)
              .select_related("cohort", "module", "message"))
    for email in emails:
        queued = list(Delivery.objects.select_for_update().filter(
            message__in=messages_of(email), ref=str(learner.public_id), status=Delivery.QUEUED))
        if not queued:
            continue
        p = Personalizer(email, with_groups=False)
        variant = variant_for(email, learner.language)
        with speaking(variant.language if variant is not None else settings.LANGUAGE_CODE):
            values = {"learner.timezone": learner.timezone, **p._local_dates(learner.timezone)}
        when = p.not_before(learner.timezone) if p.spec is not None and p.spec.kind == timing.LOCAL else None
        for copy in queued:
            fields: dict[str, Any] = {"updated_at": timezone.now(),
                                      "context": {**copy.context, **{k: values[k] for k in local_keys
                                                                      if k in copy.context}}}
            if when is not None:
                fields["not_before"] = when
            # Conditional: a copy the engine claimed meanwhile keeps its time.
            updated = Delivery.objects.filter(pk=copy.pk, status=Delivery.QUEUED).update(**fields)
            moved += updated if when is not None else 0
    return moved


def withdraw(learner: Any) -> int:
    """Cancel the course-email copies still queued for a learner who left or unsubscribed.

    Copies are queued days ahead, so stopping them here is what makes an unsubscribe take
    effect before the next send rather than after the last scheduled email.
    """
    return (Delivery.objects.filter(ref=str(learner.public_id), status__in=(Delivery.QUEUED, Delivery.DEFERRED),
                                    message__scope=Cohort.scope_for(learner.cohort_id), message__tag=TAG)
            .update(status=Delivery.CANCELLED, updated_at=timezone.now()))
