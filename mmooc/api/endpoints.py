"""The operations of /api/v1/; every write calls the function the dashboard calls for it."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Status

from mmooc.api import auth, paging
from mmooc.api import schemas as s
from mmooc.api.api import api
from mmooc.api.errors import conflict, invalid, not_found
from mmooc.audit.log import record
from mmooc.checkins.models import CheckIn
from mmooc.courses.models import Cohort, Course
from mmooc.emails import confirm, planner, scheduling, sending
from mmooc.emails.forms import EmailForm, initial_for
from mmooc.emails.models import CourseEmail
from mmooc.groups.access import groups_for
from mmooc.groups.apply import apply_grouping, preview
from mmooc.groups.grouping import GroupingError
from mmooc.groups.membership import move
from mmooc.groups.models import Membership, StudyGroup, active_through
from mmooc.learners import importer, lifecycle
from mmooc.learners.models import Learner, email_key
from mmooc.learners.staff_views import filtered
from mmooc.lists import moderation, relay
from mmooc.lists.models import Post
from mmooc.mailer.models import Message, Suppression
from mmooc.mailer.suppression import lookup_keys, suppress, unsuppress
from mmooc.mailer.suppression_views import check_address

# The refusals each kind of operation documents (and tests/test_openapi.py provokes, each one).
READ = (401, 429)
ONE = (401, 404, 429)
LIST = (400, 401, 404, 429)
POST = (400, 401, 403, 404, 422, 429)  # 400 also for a malformed Idempotency-Key, 422 for one reused


def ok(schema: Any, *refusals: int, status: int = 200) -> dict[int, Any]:
    return {status: schema, **{code: s.Error for code in sorted(refusals)}}


def _audit(request: HttpRequest, action: str, obj: Any, summary: str, **details: Any) -> None:
    record(auth.actor(request), action, obj, summary, via="api", token=auth.token_of(request).name, **details)


# Courses and cohorts ----------------------------------------------------------------------


def _cohorts(request: HttpRequest) -> Any:
    token = auth.token_of(request)
    qs = Cohort.objects.select_related("course").order_by("start_date", "pk")
    return qs.filter(pk=token.cohort_id) if token.cohort_id else qs


def _course_out(course: Course, cohorts: list[str]) -> dict[str, Any]:
    return {"slug": course.slug, "title": course.title, "summary": course.summary, "cohorts": cohorts}


@api.get("/courses", response=ok(list[s.CourseOut], *READ), tags=["courses"], summary="List courses")
def list_courses(request: HttpRequest) -> Any:
    by_course: dict[int, list[str]] = {}
    for cohort in _cohorts(request):
        by_course.setdefault(cohort.course_id, []).append(cohort.slug)
    courses = Course.objects.filter(pk__in=by_course).order_by("slug")
    return [_course_out(c, by_course[c.pk]) for c in courses]


@api.get("/courses/{course}", response=ok(s.CourseOut, *ONE), tags=["courses"], summary="Get a course")
def get_course(request: HttpRequest, course: str) -> Any:
    slugs = [c.slug for c in _cohorts(request) if c.course.slug == course]
    found = Course.objects.filter(slug=course).first()
    if found is None or not slugs and auth.token_of(request).cohort_id:
        raise not_found("course", "course")
    return _course_out(found, slugs)


def _cohort_out(cohort: Cohort) -> dict[str, Any]:
    return {"slug": cohort.slug, "course": cohort.course.slug, "title": cohort.title, "state": cohort.state,
            "timezone": cohort.timezone, "signup_opens": cohort.signup_opens,
            "signup_closes": cohort.signup_closes, "start_date": cohort.start_date, "end_date": cohort.end_date}


@api.get("/cohorts", response=ok(list[s.CohortOut], *READ), tags=["cohorts"], summary="List cohorts")
def list_cohorts(request: HttpRequest) -> Any:
    return [_cohort_out(c) for c in _cohorts(request)]


@api.get("/cohorts/{cohort}", response=ok(s.CohortOut, *ONE), tags=["cohorts"], summary="Get a cohort")
def get_cohort(request: HttpRequest, cohort: str) -> Any:
    return _cohort_out(auth.cohort_or_404(request, cohort))


# Learners --------------------------------------------------------------------------------


def _learner_out(learner: Learner, cohort: Cohort) -> dict[str, Any]:
    fields = ["email", "name", "timezone", "language", "state", "wants_group", "answers", "source",
              "signed_up_at", "confirmed_at", "left_at", "unsubscribed_at"]
    return {"id": learner.public_id, "cohort": cohort.slug, **{f: getattr(learner, f) for f in fields}}


def _learner(cohort: Cohort, learner_id: str) -> Learner:
    try:
        public_id = uuid.UUID(learner_id)
    except ValueError:
        raise not_found("learner", "learner_id") from None
    learner = Learner.objects.filter(cohort=cohort, public_id=public_id).first()
    if learner is None:
        raise not_found("learner", "learner_id")
    return learner


@api.get("/cohorts/{cohort}/learners", response=ok(s.LearnerPage, *LIST), tags=["learners"], summary="List learners")
def list_learners(request: HttpRequest, cohort: str, state: str = "", q: str = "", timezone: str = "",
                  language: str = "", group: str = "", cursor: str = "", limit: int = paging.DEFAULT_LIMIT) -> Any:
    """Filters as on the dashboard's learner list; `group` is a group number or `none`."""
    if not 1 <= limit <= paging.MAX_LIMIT:
        raise invalid("invalid_limit", f"limit is 1 to {paging.MAX_LIMIT}.", "limit")
    if state and state not in dict(Learner.STATES):
        raise invalid("invalid_state", f"state is one of {', '.join(dict(Learner.STATES))}.", "state")
    c = auth.cohort_or_404(request, cohort)
    params = {"state": state, "q": q, "timezone": timezone, "language": language, "group": group}
    rows, next_cursor = paging.page(filtered(c, params), cursor, limit)
    return {"data": [_learner_out(r, c) for r in rows], "has_more": next_cursor is not None,
            "next_cursor": next_cursor}


@api.post("/cohorts/{cohort}/learners/import", response=ok(s.ImportOut, *POST), tags=["learners"],
          summary="Import learners")
def import_learners(request: HttpRequest, cohort: str, payload: s.LearnerImport) -> Any:
    """All or nothing, up to 10,000 a request; addresses already in the cohort are left unchanged."""
    c = auth.cohort_or_404(request, cohort)
    report = _import(request, c, payload.learners, payload.consented)
    return {"imported": len(report.rows), "already": report.already}


@api.get("/cohorts/{cohort}/learners/{learner_id}", response=ok(s.LearnerOut, *ONE), tags=["learners"],
         summary="Get a learner")
def get_learner(request: HttpRequest, cohort: str, learner_id: str) -> Any:
    c = auth.cohort_or_404(request, cohort)
    return _learner_out(_learner(c, learner_id), c)


def _csv(rows: list[s.LearnerIn]) -> bytes:
    """The rows as the dashboard's CSV import reads them, so both doors check alike."""
    questions = sorted({k for row in rows for k in row.answers})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "timezone", "language", "group", *questions])
    for row in rows:
        answers = [row.answers.get(q, "") for q in questions]
        writer.writerow([row.email, row.name, row.timezone, row.language, "yes" if row.wants_group else "no",
                         *["; ".join(a) if isinstance(a, list) else a for a in answers]])
    return out.getvalue().encode()


def _read_import(c: Cohort, rows: list[s.LearnerIn]) -> importer.ImportReport:
    declared = {q.get("id") for q in c.course.questions or []}
    for index, row in enumerate(rows):
        # The CSV import leaves columns it does not know aside; a JSON key is a mistake.
        if unknown := sorted(k[:40] for k in row.answers if k not in declared):
            raise invalid("invalid_learners", f"learners[{index}]: this course has no question "
                          f"{', '.join(unknown)}.", "learners")
    try:
        report = importer.read(_csv(rows), c)
    except importer.ImportFileError as exc:
        raise invalid("invalid_learners", str(exc), "learners") from None
    if report.errors:
        # The importer counts CSV lines (the header is line 1); the caller sent a list.
        shown = [re.sub(r"^Line (\d+):", lambda m: f"learners[{int(m[1]) - 2}]:", e) for e in report.errors[:20]]
        raise invalid("invalid_learners", " ".join(shown), "learners")
    return report


def _import(request: HttpRequest, c: Cohort, rows: list[s.LearnerIn], consented: bool) -> importer.ImportReport:
    report = _read_import(c, rows)
    count = importer.apply(report, c, consented=consented)
    _audit(request, "learners.imported", c, f"Imported {count} learners into {c.slug}",
           count=count, consented=consented, already=report.already)
    return report


@api.post("/cohorts/{cohort}/learners", response=ok(s.LearnerOut, *POST, 409, status=201), tags=["learners"],
          summary="Add a learner")
def create_learner(request: HttpRequest, cohort: str, payload: s.LearnerCreate) -> Any:
    """Through the CSV importer's checks; confirmed when `consented`, else sent a confirmation email."""
    c = auth.cohort_or_404(request, cohort)
    report = _import(request, c, [payload], payload.consented)
    if report.already:
        raise conflict("learner_exists", "This address is already in the cohort.", "email")
    learner = Learner.objects.get(cohort=c, email_key=email_key(report.rows[0].email))
    return Status(201, _learner_out(learner, c))


TRANSITIONS: dict[str, tuple[Callable[..., bool], str]] = {
    "confirm": (lifecycle.confirm, "learner.confirmed"), "leave": (lifecycle.leave, "learner.left"),
    "erase": (lifecycle.erase, "learner.erased")}


def _transition(request: HttpRequest, cohort: str, learner_id: str, action: str) -> Any:
    c = auth.cohort_or_404(request, cohort)
    learner = _learner(c, learner_id)
    change, verb = TRANSITIONS[action]
    try:
        changed = change(learner, via=lifecycle.STAFF)
    except lifecycle.Refused as exc:
        raise conflict("learner_state_refused", str(exc)) from None
    if changed:
        _audit(request, verb, learner, f"{action.capitalize()} learner {learner.public_id} of {c.slug}")
    return _learner_out(learner, c)


@api.post("/cohorts/{cohort}/learners/{learner_id}/confirm", response=ok(s.LearnerOut, *POST, 409),
          tags=["learners"], summary="Confirm a pending learner")
def confirm_learner(request: HttpRequest, cohort: str, learner_id: str) -> Any:
    """A learner who left or stopped the emails is not brought back (409 learner_state_refused)."""
    return _transition(request, cohort, learner_id, "confirm")


@api.post("/cohorts/{cohort}/learners/{learner_id}/leave", response=ok(s.LearnerOut, *POST),
          tags=["learners"], summary="Take a learner out of the cohort")
def leave_learner(request: HttpRequest, cohort: str, learner_id: str) -> Any:
    return _transition(request, cohort, learner_id, "leave")


@api.post("/cohorts/{cohort}/learners/{learner_id}/erase", response=ok(s.LearnerOut, *POST),
          tags=["learners"], summary="Erase a learner's data")
def erase_learner(request: HttpRequest, cohort: str, learner_id: str) -> Any:
    return _transition(request, cohort, learner_id, "erase")


# Course emails ---------------------------------------------------------------------------


def _email_out(email: CourseEmail) -> dict[str, Any]:
    spec = scheduling.email_schedule(email)
    schedule = None if spec is None else {
        "kind": spec.kind, "day": spec.day, "time": spec.time.strftime("%H:%M") if spec.time else None,
        "at": spec.at.strftime("%Y-%m-%dT%H:%M") if spec.at else None}
    return {"id": email.public_id, "cohort": email.cohort.slug, "subject": email.subject, "body": email.body,
            "module": email.module.position if email.module else None, "audience": email.audience or {},
            "schedule": schedule, "welcome": bool(email.trigger), "state": email.state,
            "sending": email.message.state if email.message else None,
            "created_at": email.created_at, "updated_at": email.updated_at}


def _email(c: Cohort, email_id: str) -> CourseEmail:
    try:
        public_id = uuid.UUID(email_id)
    except ValueError:
        raise not_found("email", "email_id") from None
    email = CourseEmail.objects.select_related("cohort__course", "module", "message").filter(
        cohort=c, public_id=public_id).first()
    if email is None:
        raise not_found("email", "email_id")
    return email


@api.get("/cohorts/{cohort}/emails", response=ok(list[s.EmailOut], *ONE), tags=["emails"], summary="List course emails")
def list_emails(request: HttpRequest, cohort: str) -> Any:
    c = auth.cohort_or_404(request, cohort)
    emails = c.emails.select_related("cohort__course", "module", "message").order_by(
        "trigger", "day_offset", "send_at", "pk")
    scheduling.refresh_states(emails)
    return [_email_out(e) for e in emails]


@api.get("/cohorts/{cohort}/emails/{email_id}", response=ok(s.EmailOut, *ONE), tags=["emails"],
         summary="Get a course email")
def get_email(request: HttpRequest, cohort: str, email_id: str) -> Any:
    email = _email(auth.cohort_or_404(request, cohort), email_id)
    scheduling.refresh_state(email)
    return _email_out(email)


def _form_data(data: dict[str, Any]) -> dict[str, Any]:
    """The API's fields as the dashboard's compose form names them."""
    audience, schedule = data.get("audience") or {}, data.get("schedule") or {}
    return {"subject": data.get("subject", ""), "body": data.get("body", ""),
            "module": "" if data.get("module") is None else str(data["module"]),
            "audience": audience.get("kind", "all"),
            "groups": ", ".join(str(n) for n in audience.get("groups") or []),
            "question": audience.get("question", ""), "answer": audience.get("answer", ""),
            "addresses": ", ".join(audience.get("addresses") or []),
            "schedule": schedule.get("kind", ""), "day": schedule.get("day"),
            "time": schedule.get("time") or "", "at": schedule.get("at") or ""}


def _checked(email: CourseEmail, data: dict[str, Any]) -> CourseEmail:
    """The email as the compose form would make it (not saved); 400 with the form's own message."""
    form = EmailForm({k: v for k, v in _form_data(data).items() if v is not None}, cohort=email.cohort)
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise invalid("invalid_email", f"{field}: {' '.join(str(m) for m in messages)}", field)
    clean = form.cleaned_data
    email.subject, email.body = clean["subject"], clean["body"]
    position = clean.get("module")
    email.module = email.cohort.course.modules.filter(position=position).first() if position else None
    email.audience = clean.get("audience_json") or {"kind": "all"}
    scheduling.apply_schedule(email, clean["schedule_spec"])
    return email


def _saved(request: HttpRequest, email: CourseEmail, action: str) -> CourseEmail:
    email.updated_at = timezone.now()
    with transaction.atomic():
        email.save()
        _audit(request, action, email, f"{action.split('.')[1].capitalize()} “{email.subject[:80]}” by API",
               cohort=email.cohort.slug)
    return email


@api.post("/cohorts/{cohort}/emails", response=ok(s.EmailOut, *POST, status=201), tags=["emails"],
          summary="Create a course email (a draft)")
def create_email(request: HttpRequest, cohort: str, payload: s.EmailIn) -> Any:
    c = auth.cohort_or_404(request, cohort)
    email = _checked(CourseEmail(cohort=c, created_by=auth.actor(request)), payload.model_dump())
    return Status(201, _email_out(_saved(request, email, "email.created")))


@api.patch("/cohorts/{cohort}/emails/{email_id}", response=ok(s.EmailOut, 400, 401, 403, 404, 409, 429),
           tags=["emails"],
           summary="Change a draft course email")
def update_email(request: HttpRequest, cohort: str, email_id: str, payload: s.EmailPatch) -> Any:
    """Only drafts change here: a scheduled email is cancelled first (or duplicated on the dashboard)."""
    email = _email(auth.cohort_or_404(request, cohort), email_id)
    if email.state != CourseEmail.DRAFT or email.trigger:
        raise conflict("email_not_draft", "Only a draft email can change through the API; this one is "
                       f"{email.state}{' (the welcome email)' if email.trigger else ''}.")
    current = _current_values(email)
    current.update(payload.model_dump(exclude_unset=True))
    return _email_out(_saved(request, _checked(email, current), "email.updated"))


def _current_values(email: CourseEmail) -> dict[str, Any]:
    initial = initial_for(email)
    audience = dict(email.audience or {"kind": "all"})
    return {"subject": email.subject, "body": email.body, "module": email.module.position if email.module else None,
            "audience": audience, "schedule": {"kind": initial["schedule"], "day": initial["day"],
                                               "time": initial["time"], "at": initial["at"] or None}}


@api.post("/cohorts/{cohort}/emails/{email_id}/schedule", response=ok(s.ScheduledOut, *POST, 409),
          tags=["emails"], summary="Schedule a course email")
def schedule_email(request: HttpRequest, cohort: str, email_id: str, confirm_send_now: int | None = None) -> Any:
    """Queues a copy for each recipient at the time the schedule gives them. When more than a
    handful of copies would leave at once, the request must say how many (`confirm_send_now`,
    the `soon` of the email's outlook); otherwise it is refused with `confirmation_required`
    and nothing is queued. Copies due at once wait for the undo window, as on the dashboard."""
    email = _email(auth.cohort_or_404(request, cohort), email_id)
    view = confirm.outlook(email)
    if view.needs_confirmation and confirm_send_now != view.soon:
        raise conflict("confirmation_required",
                       f"{view.question} {view.time_range} Send again with confirm_send_now={view.soon} "
                       "to queue them.", "confirm_send_now")
    try:
        count = scheduling.schedule(email, auth.actor(request))
    except scheduling.ScheduleError as exc:
        raise conflict("email_not_schedulable", str(exc)) from None
    return {"recipients": count, "email": _email_out(email)}


@api.post("/cohorts/{cohort}/emails/{email_id}/cancel", response=ok(s.EmailOut, *POST, 409), tags=["emails"],
          summary="Cancel a course email")
def cancel_email(request: HttpRequest, cohort: str, email_id: str) -> Any:
    email = _email(auth.cohort_or_404(request, cohort), email_id)
    try:
        scheduling.cancel(email, auth.actor(request))
    except scheduling.ScheduleError as exc:
        raise conflict("email_not_cancellable", str(exc)) from None
    return _email_out(email)


@api.get("/cohorts/{cohort}/emails/{email_id}/outlook", response=ok(s.OutlookOut, *ONE), tags=["emails"],
         summary="What scheduling a course email would send, and when")
def email_outlook(request: HttpRequest, cohort: str, email_id: str) -> Any:
    """The figures the dashboard shows before sending: copies, how many leave at once, the
    first and last sending time, copies skipped because the email's phase is over; and the send
    plan: recipients, copies per domain, times per region, how long the send takes under the
    rate and the provider's quotas, and warnings (docs/dashboard.md#the-send-plan)."""
    email = _email(auth.cohort_or_404(request, cohort), email_id)
    view = confirm.outlook(email)
    plan = planner.plan_for(email)
    return {"copies": view.copies, "soon": view.soon, "first": view.first, "last": view.last,
            "skipped": view.skipped, "note": view.note, "needs_confirmation": view.needs_confirmation,
            **plan.as_dict()}


def _control(request: HttpRequest, cohort: str, email_id: str, action: str) -> Any:
    """Pause or resume sending, as the sending page's buttons do."""
    email = _email(auth.cohort_or_404(request, cohort), email_id)
    message = email.message
    allowed = Message.PAUSED if action == "resume" else Message.ACTIVE
    if message is None or message.state != allowed:
        raise conflict(f"email_not_{'paused' if action == 'resume' else 'sending'}",
                       "Sending is not paused." if action == "resume" else "This email is not sending.")
    verb, _done = sending.ACTIONS[action]
    with transaction.atomic():
        for each in scheduling.messages_of(email):  # every language's copies
            sending.OUTBOX_FUNCTIONS[action](each)
        _audit(request, verb, email, f"{action.capitalize()} sending of “{scheduling.shown_subject(email)}”",
               message=str(message.public_id), progress=scheduling.progress_of(email))
    message.refresh_from_db()
    return _email_out(email)


@api.post("/cohorts/{cohort}/emails/{email_id}/pause", response=ok(s.EmailOut, *POST, 409), tags=["emails"],
          summary="Pause sending")
def pause_email(request: HttpRequest, cohort: str, email_id: str) -> Any:
    return _control(request, cohort, email_id, "pause")


@api.post("/cohorts/{cohort}/emails/{email_id}/resume", response=ok(s.EmailOut, *POST, 409), tags=["emails"],
          summary="Resume sending")
def resume_email(request: HttpRequest, cohort: str, email_id: str) -> Any:
    return _control(request, cohort, email_id, "resume")


@api.get("/cohorts/{cohort}/emails/{email_id}/progress", response=ok(s.Progress, *ONE), tags=["emails"],
         summary="Sending progress")
def email_progress(request: HttpRequest, cohort: str, email_id: str) -> Any:
    email = _email(auth.cohort_or_404(request, cohort), email_id)
    return sending.progress_summary(email)


# Study groups ----------------------------------------------------------------------------


MAX_GROUP_SIZE, MAX_SEED = 1000, 2**31 - 1  # as the grouping page's form


def _group_out(group: StudyGroup) -> dict[str, Any]:
    return {"number": group.number, "name": group.name, "address": group.address, "language": group.language,
            "pooled": group.pooled, "members": getattr(group, "member_count", 0), "created_at": group.created_at}


def _group(c: Cohort, number: int) -> StudyGroup:
    group = StudyGroup.objects.filter(cohort=c, number=number).first()
    if group is None:
        raise not_found("group", "number")
    return group


@api.get("/cohorts/{cohort}/groups", response=ok(list[s.GroupOut], *ONE), tags=["groups"],
         summary="List study groups")
def list_groups(request: HttpRequest, cohort: str) -> Any:
    c = auth.cohort_or_404(request, cohort)
    groups = StudyGroup.objects.filter(cohort=c).annotate(
        member_count=Count("memberships", filter=active_through("memberships"))).order_by("number")
    return [_group_out(g) for g in groups]


@api.get("/cohorts/{cohort}/groups/{number}/members", response=ok(list[s.MemberOut], *ONE), tags=["groups"],
         summary="List a group's members")
def list_members(request: HttpRequest, cohort: str, number: int) -> Any:
    group = _group(auth.cohort_or_404(request, cohort), number)
    members = Membership.objects.active().filter(group=group).select_related("learner").order_by("joined_at", "pk")
    return [{"learner": m.learner.public_id, "name": m.learner.name, "email": m.learner.email,
             "timezone": m.learner.timezone, "joined_at": m.joined_at, "muted": m.muted, "delivery": m.delivery}
            for m in members]


@api.get("/cohorts/{cohort}/groups/preview", response=ok(s.PreviewOut, *LIST), tags=["groups"],
         summary="Preview a grouping (nothing is written)")
def preview_groups(request: HttpRequest, cohort: str, size: int | None = None, seed: int = 0) -> Any:
    """The groups that applying would form now, for the learners who want a group and have none."""
    if size is not None and not 2 <= size <= MAX_GROUP_SIZE:
        raise invalid("invalid_parameter", f"size is 2 to {MAX_GROUP_SIZE}.", "size")
    if not 0 <= seed <= MAX_SEED:
        raise invalid("invalid_parameter", f"seed is 0 to {MAX_SEED}.", "seed")
    c = auth.cohort_or_404(request, cohort)
    try:
        proposed = preview(c, target_size=size, seed=seed)
    except GroupingError as exc:
        raise invalid("invalid_grouping", str(exc), "size") from None
    groups = [{"number": g.number, "size": len(g.member_ids), "language": g.language, "pooled": g.pooled,
               "span_hours": g.span_hours} for g in proposed]
    return {"groups": groups, "learners": sum(g["size"] for g in groups)}


@api.post("/cohorts/{cohort}/groups/apply", response=ok(s.AppliedOut, *POST), tags=["groups"],
          summary="Form the groups and send their welcome emails")
def apply_groups(request: HttpRequest, cohort: str, payload: s.GroupingIn) -> Any:
    """As the grouping page's Apply: groups every learner who wants one and has none; the welcome
    emails are written by the delivery engine's processes right after."""
    c = auth.cohort_or_404(request, cohort)
    try:
        grouping = apply_grouping(c, target_size=payload.size, seed=payload.seed, actor=auth.actor(request),
                                  welcome_now=False)
    except GroupingError as exc:
        raise invalid("invalid_grouping", str(exc), "size") from None
    return {"groups": grouping.groups.count(), "learners": grouping.learner_count}


@api.post("/cohorts/{cohort}/learners/{learner_id}/move", response=ok(s.MemberOut, *POST, 409), tags=["groups"],
          summary="Move a learner to a group")
def move_learner(request: HttpRequest, cohort: str, learner_id: str, payload: s.MoveIn) -> Any:
    """Into the group, from their current one if any, as on a group's staff page."""
    c = auth.cohort_or_404(request, cohort)
    learner = _learner(c, learner_id)
    if learner.state != Learner.CONFIRMED:
        raise conflict("learner_not_confirmed", "Only a confirmed learner can be in a group.", "learner_id")
    group = StudyGroup.objects.filter(cohort=c, number=payload.group).first()
    if group is None:
        raise invalid("group_not_found", f"This cohort has no group {payload.group}.", "group")
    with transaction.atomic():
        m = move(learner, group, auth.actor(request))
    return {"learner": learner.public_id, "name": learner.name, "email": learner.email,
            "timezone": learner.timezone, "joined_at": m.joined_at, "muted": m.muted, "delivery": m.delivery}


# Suppressions ----------------------------------------------------------------------------


# Posts and check-ins -----------------------------------------------------------------------


def _post_out(post: Post) -> dict[str, Any]:
    return {"id": post.pk, "message_id": post.message_id, "in_reply_to": post.in_reply_to, "subject": post.subject,
            "author": post.author.public_id if post.author else None, "author_name": post.author_name,
            "received_at": post.received_at, "size": post.size, "hidden": post.hidden, "held": post.held,
            "held_reason": post.held_reason}


def _limit(limit: int) -> None:
    if not 1 <= limit <= paging.MAX_LIMIT:
        raise invalid("invalid_limit", f"limit is 1 to {paging.MAX_LIMIT}.", "limit")


@api.get("/cohorts/{cohort}/groups/{number}/posts", response=ok(s.PostPage, *LIST), tags=["posts"],
         summary="List a group's posts")
def list_posts(request: HttpRequest, cohort: str, number: int, cursor: str = "",
               limit: int = paging.DEFAULT_LIMIT) -> Any:
    """Every post the group's address received, oldest first, hidden and held ones included
    (their flags say so); no bodies."""
    group = _group(auth.cohort_or_404(request, cohort), number)
    _limit(limit)
    rows, next_cursor = paging.page(Post.objects.filter(group=group).select_related("author").defer("raw", "text"),
                                    cursor, limit)
    return {"data": [_post_out(p) for p in rows], "has_more": next_cursor is not None, "next_cursor": next_cursor}


def _visibility(request: HttpRequest, cohort: str, number: int, post_id: int, hidden: bool) -> Any:
    """Hide a post from the archive and digests, or show it again, as the archive's buttons do."""
    c = auth.cohort_or_404(request, cohort)
    group = _group(c, number)
    post = Post.objects.filter(pk=post_id, group=group).select_related("author").first()
    if post is None:
        raise not_found("post", "post_id")
    with transaction.atomic():
        Post.objects.filter(pk=post.pk).update(hidden=hidden)
        _audit(request, "post.hidden" if hidden else "post.shown", post,
               f"{'Hid' if hidden else 'Showed again'} “{post.subject[:80]}” by {post.author_name} in {group.name}",
               group=group.address, message_id=post.message_id)
    post.hidden = hidden
    return _post_out(post)


@api.post("/cohorts/{cohort}/groups/{number}/posts/{post_id}/hide", response=ok(s.PostOut, *POST), tags=["posts"],
          summary="Hide a post from the archive and digests")
def hide_post(request: HttpRequest, cohort: str, number: int, post_id: int) -> Any:
    return _visibility(request, cohort, number, post_id, True)


@api.post("/cohorts/{cohort}/groups/{number}/posts/{post_id}/show", response=ok(s.PostOut, *POST), tags=["posts"],
          summary="Show a hidden post again")
def show_post(request: HttpRequest, cohort: str, number: int, post_id: int) -> Any:
    return _visibility(request, cohort, number, post_id, False)


# The moderation queue: held posts of a cohort's groups, decided as on the dashboard.


def _held(request: HttpRequest, cohort: str, post_id: int) -> Post:
    c = auth.cohort_or_404(request, cohort)
    post = (Post.objects.filter(pk=post_id, group__in=groups_for(auth.actor(request), c))
            .select_related("group", "author").defer("raw").first())
    if post is None:
        raise not_found("post", "post_id")
    if not post.held:
        raise conflict("post_not_held", "This post is not held: it was approved, or relayed on arrival.", "post_id")
    return post


@api.get("/cohorts/{cohort}/moderation", response=ok(s.HeldPage, *LIST), tags=["moderation"],
         summary="List held posts")
def list_held(request: HttpRequest, cohort: str, cursor: str = "", limit: int = paging.DEFAULT_LIMIT) -> Any:
    """The posts held across the cohort's groups, in the order they were stored, with why each is
    held and who sent it."""
    c = auth.cohort_or_404(request, cohort)
    _limit(limit)
    rows, next_cursor = paging.page(moderation.held_posts(groups_for(auth.actor(request), c)), cursor, limit)
    senders = moderation.senders(rows)
    data = [{**_post_out(p), "group": p.group.number, "kind": moderation.kind_of(p), "sender": senders.get(p.pk, ""),
             "size_limit": relay.MAX_POST_BYTES, "preview": p.text.strip()[:600]} for p in rows]
    return {"data": data, "has_more": next_cursor is not None, "next_cursor": next_cursor}


@api.post("/cohorts/{cohort}/moderation/{post_id}/approve", response=ok(s.PostOut, *POST, 409),
          tags=["moderation"], summary="Approve a held post")
def approve_post(request: HttpRequest, cohort: str, post_id: int) -> Any:
    """Relay the post to its group now, as if it had not been held; 409 once it is no longer held."""
    post = _held(request, cohort, post_id)
    if not moderation.approve(post, auth.actor(request), via="api", token=auth.token_of(request).name):
        raise conflict("post_not_held", "This post is no longer held: someone decided it meanwhile.", "post_id")
    post.refresh_from_db()
    return _post_out(post)


@api.post("/cohorts/{cohort}/moderation/{post_id}/reject", response=ok(s.Rejected, *POST, 409),
          tags=["moderation"], summary="Reject a held post")
def reject_post(request: HttpRequest, cohort: str, post_id: int, payload: s.RejectIn) -> Any:
    """Delete the post; a note, when given, goes to its sender. 409 once it is no longer held."""
    post = _held(request, cohort, post_id)
    told: set[str] = set()
    if not moderation.reject(post, auth.actor(request), payload.note, told=told, via="api",
                             token=auth.token_of(request).name):
        raise conflict("post_not_held", "This post is no longer held: someone decided it meanwhile.", "post_id")
    return {"rejected": True, "sender_told": bool(told)}


@api.get("/cohorts/{cohort}/checkins", response=ok(s.CheckInPage, *LIST), tags=["checkins"],
         summary="List check-ins")
def list_checkins(request: HttpRequest, cohort: str, week: int | None = None, status: str = "", cursor: str = "",
                  limit: int = paging.DEFAULT_LIMIT) -> Any:
    """Each learner's word on each week (done, stuck with a topic, skip), as recorded from mail;
    filtered by week and status."""
    c = auth.cohort_or_404(request, cohort)
    _limit(limit)
    qs = CheckIn.objects.filter(cohort=c).select_related("learner", "group")
    if week is not None:
        qs = qs.filter(week=week)
    if status:
        if status not in dict(CheckIn._meta.get_field("status").choices or []):
            raise invalid("invalid_status", "status is done, stuck or skip.", "status")
        qs = qs.filter(status=status)
    rows, next_cursor = paging.page(qs, cursor, limit)
    data = [{"learner": r.learner.public_id, "group": r.group.number if r.group else None, "week": r.week,
             "status": r.status, "topic": r.topic, "source": r.source, "created_at": r.created_at,
             "updated_at": r.updated_at} for r in rows]
    return {"data": data, "has_more": next_cursor is not None, "next_cursor": next_cursor}


def _suppression_out(row: Suppression) -> dict[str, Any]:
    return {"address": row.shown_address, "reason": row.reason, "detail": row.detail, "created_at": row.created_at}


@api.get("/suppressions", response=ok(s.SuppressionPage, 400, 401, 403, 429), tags=["suppressions"],
         summary="List suppressions")
def list_suppressions(request: HttpRequest, q: str = "", cursor: str = "",
                      limit: int = paging.DEFAULT_LIMIT) -> Any:
    auth.require_all_cohorts(request)
    if not 1 <= limit <= paging.MAX_LIMIT:
        raise invalid("invalid_limit", f"limit is 1 to {paging.MAX_LIMIT}.", "limit")
    qs = Suppression.objects.all()
    if q.strip():
        qs = qs.filter(Q(address__contains=q.strip().lower()) | Q(detail__icontains=q.strip())
                       | Q(address__in=lookup_keys([q])))  # an erased learner's row: the whole address
    rows, next_cursor = paging.page(qs, cursor, limit)
    return {"data": [_suppression_out(r) for r in rows], "has_more": next_cursor is not None,
            "next_cursor": next_cursor}


def _address(value: str) -> str:
    try:
        return check_address(value)
    except ValueError as exc:
        raise invalid("invalid_address", f"Not a usable email address: {exc}", "address") from None


@api.post("/suppressions", response=ok(s.SuppressionOut, 400, 401, 403, 422, 429, status=201), tags=["suppressions"],
          summary="Suppress an address")
def add_suppression(request: HttpRequest, payload: s.SuppressionIn) -> Any:
    auth.require_all_cohorts(request)
    if not payload.detail.strip():
        raise invalid("invalid_parameter", "Say why this address must not be mailed.", "detail")
    row = suppress(_address(payload.address), Suppression.MANUAL, payload.detail.strip(), actor=auth.actor(request))
    return Status(201, _suppression_out(row))


@api.post("/suppressions/{address}/remove", response=ok(s.Removed, *POST), tags=["suppressions"],
          summary="Remove an address from the suppression list")
def remove_suppression(request: HttpRequest, address: str, payload: s.SuppressionRemove) -> Any:
    auth.require_all_cohorts(request)
    if not unsuppress(_address(address), payload.reason.strip(), actor=auth.actor(request)):
        raise not_found("suppression", "address")
    return {"removed": True}

