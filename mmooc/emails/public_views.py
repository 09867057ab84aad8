"""Public pages: an email in the browser, a cohort's archive, its Atom feed and calendar; and a
learner's request, from their page, for the weeks they missed.

Nothing personal appears here: emails are shown with neutral values in place of each
learner's ("there" for a first name) and without unsubscribe links.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mmooc.courses.models import Cohort
from mmooc.emails import links, scheduling, templating, timing
from mmooc.emails.models import CourseEmail
from mmooc.learners import links as learner_links
from mmooc.learners.decorators import signed_link
from mmooc.lib.languages import activate_for, speaking
from mmooc.lib.mailrender import markdown_to_html
from mmooc.lib.timezones import available_zones
from mmooc.mailer.models import Delivery

NEUTRAL = {"learner.first_name": "there", "learner.name": "learner", "learner.page_url": "(your personal page)",
           "learner.timezone": "", "group.name": "your study group", "group.address": "(your group's address)",
           "group.size": "", "unsubscribe_url": ""}
FEED_ITEMS = 50


def _cohort(course: str, cohort: str) -> Cohort:
    return get_object_or_404(Cohort.objects.published().select_related("course"), slug=cohort,
                             course__slug=course)


def sent_emails(cohort: Cohort) -> QuerySet:
    """The cohort's course emails of which at least one copy was sent (in any language), newest first."""
    first = (Delivery.objects.filter(Q(message=OuterRef("message"))
                                     | Q(message__course_email_variant__email=OuterRef("pk")), status=Delivery.SENT)
             .order_by("sent_at").values("sent_at")[:1])
    return (CourseEmail.objects.filter(cohort=cohort, trigger="", message__isnull=False)
            .annotate(first_sent=Subquery(first)).filter(first_sent__isnull=False)
            .select_related("cohort__course", "module").order_by("-first_sent", "-pk"))


def week_emails(cohort: Cohort) -> dict[int, str]:
    """Module id → the web address of the first email sent about it (for the learners' pages)."""
    if cohort.state == Cohort.DRAFT:
        return {}
    found: dict[int, str] = {}
    for email in sent_emails(cohort).filter(module__isnull=False).order_by("first_sent", "pk"):
        found.setdefault(email.module_id, links.view_url(email))
    return found


def reader_language(request: HttpRequest) -> str:
    """The variant language a public page is read in: ?lang=, else the visitor's language;
    "" for the email as written."""
    asked = request.GET.get("lang", "")[:20]
    language = scheduling.variant_language(asked or translation.get_language() or "")
    if asked:  # a learner's link in their language: the page around the email speaks it too
        activate_for(request, language or settings.LANGUAGE_CODE)
    return language


def public_text(email: CourseEmail, language: str = "") -> tuple[str, str]:
    """Subject and Markdown body as anybody may read them (in the variant of `language` if any)."""
    variant = scheduling.variant_for(email, language) if language else None
    with speaking(variant.language if variant is not None else settings.LANGUAGE_CODE):
        subject, body = scheduling.render_email(scheduling.as_variant(email, variant))
    values = dict(NEUTRAL)
    values.update(scheduling.local_values(email.cohort, email.module, ""))
    return templating.personalize(subject, values), templating.personalize(body, values)


@require_GET
def view(request: HttpRequest, public_id: Any) -> HttpResponse:
    email = get_object_or_404(CourseEmail.objects.select_related("cohort__course", "module"),
                              public_id=public_id, trigger="")
    sent = sent_emails(email.cohort).filter(pk=email.pk).first()  # with the time of its first copy
    if sent is None or email.cohort.state == Cohort.DRAFT:
        raise Http404("This email has not been sent yet.")
    email = sent
    subject, body = public_text(email, reader_language(request))
    ctx = {"email": email, "cohort": email.cohort, "subject": subject, "html": markdown_to_html(body),
           "archive_url": links.archive_url(email.cohort)}
    return render(request, "emails/view.html", ctx)


@require_GET
def archive(request: HttpRequest, course: str, cohort: str) -> HttpResponse:
    c = _cohort(course, cohort)
    language = reader_language(request)
    emails = [(email, public_text(email, language)[0]) for email in sent_emails(c)]
    ctx = {"cohort": c, "course": c.course, "emails": emails, "feed_url": links.feed_url(c), "language": language,
           "calendar_url": links.calendar_url(c)}
    return render(request, "emails/archive.html", ctx)


@require_GET
def feed(request: HttpRequest, course: str, cohort: str) -> HttpResponse:
    c = _cohort(course, cohort)
    language = reader_language(request)
    atom = Atom1Feed(title=f"{c.course.title} ({c.title or c.slug})", link=links.archive_url(c),
                     description=c.course.summary, language=language or settings.LANGUAGE_CODE,
                     feed_url=links.feed_url(c),
                     feed_guid=f"urn:uuid:{_cohort_uuid(c)}")
    for email in sent_emails(c)[:FEED_ITEMS]:
        subject, body = public_text(email, language)
        url = links.view_url(email) + (f"?lang={language}" if language else "")
        atom.add_item(title=subject, link=url, description=markdown_to_html(body),
                      unique_id=f"urn:uuid:{email.public_id}", pubdate=email.first_sent,
                      updateddate=email.first_sent)
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    atom.write(response, "utf-8")
    return response


def _cohort_uuid(cohort: Cohort) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, links.archive_url(cohort)))


@require_GET
def calendar(request: HttpRequest, course: str, cohort: str) -> HttpResponse:
    c = _cohort(course, cohort)
    tz = request.GET.get("tz") or c.timezone
    if tz not in available_zones():
        return HttpResponse(f"Unknown time zone {tz[:64]!r}: use an IANA name such as Europe/Berlin.",
                            status=400, content_type="text/plain; charset=utf-8")
    return HttpResponse(ical(c, tz, reader_language(request)), content_type="text/calendar; charset=utf-8")


def ical(cohort: Cohort, tz: str, language: str = "") -> bytes:
    """The cohort's schedule: module releases (all-day) and course email send times."""
    import icalendar

    from mmooc.lib.timezones import zone

    cal = icalendar.Calendar()
    cal.add("prodid", "-//Mechanical MOOC//course calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{cohort.course.title} ({cohort.title or cohort.slug})")
    cal.add("x-wr-timezone", tz)
    stamp = datetime.combine(cohort.start_date, datetime.min.time(), tzinfo=zone("UTC"))
    for module in cohort.course.modules.all():
        day = module.release_date(cohort)
        event = icalendar.Event()
        event.add("uid", f"module-{module.position}-{cohort.slug}@{cohort.course.slug}")
        event.add("summary", module.title)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("dtstamp", stamp)
        event.add("description", f"{cohort.course.title}: {module.title}")
        cal.add_component(event)
    for email in cohort.emails.filter(trigger="").exclude(state=CourseEmail.CANCELLED):
        when = _email_time(email, tz)
        if when is None:
            continue
        event = icalendar.Event()
        event.add("uid", f"email-{email.public_id}@{cohort.course.slug}")
        event.add("summary", _("Course email: {subject}").format(subject=public_text(email, language)[0]))
        event.add("dtstart", when.astimezone(zone(tz)))
        event.add("dtend", when.astimezone(zone(tz)) + timedelta(minutes=15))
        event.add("dtstamp", stamp)
        cal.add_component(event)
    cal.add_missing_timezones()  # VTIMEZONE definitions for the TZIDs used
    return cal.to_ical()


def _email_time(email: CourseEmail, tz: str) -> datetime | None:
    spec = scheduling.email_schedule(email)
    if spec is None or spec.kind == timing.NOW:
        return None
    # Learner-local emails arrive at their wall-clock time in the zone the calendar is for.
    return timing.send_instant(spec, start=email.cohort.start_date, cohort_zone=email.cohort.timezone,
                               learner_zone=tz, now=datetime.now())


@require_POST
@signed_link
@never_cache
def catch_up(request: HttpRequest, token: str) -> HttpResponse:
    """The learner asks for the weeks they missed, sent as one email: once, then the page says when."""
    from mmooc.emails.catchup import CatchUpRefused, send_catch_up

    learner = learner_links.learner_from_token(token, learner_links.PAGE)
    activate_for(request, learner.language)
    try:
        send_catch_up(learner)
    except CatchUpRefused as refused:
        messages.info(request, str(refused))
    else:
        messages.success(request, _("The weeks you missed are on their way to %(email)s, in one email.")
                         % {"email": learner.email})
    return redirect("learners:page", token=token)
