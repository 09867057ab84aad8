"""Forms of the compose page: the email, its audience and its schedule."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mmooc.emails import audience as audiences
from mmooc.emails import timing
from mmooc.emails.models import CourseEmail

AUDIENCE_CHOICES = [(k, audiences.LABELS[k]) for k in (
    audiences.ALL, audiences.GROUPED, audiences.SOLO, audiences.WANTING, audiences.GROUPS, audiences.ANSWER,
    audiences.TEST)]
SCHEDULE_CHOICES = [
    (timing.LOCAL, "Day N after the start, at this time in each learner's own time zone"),
    (timing.RELATIVE, "Day N after the start, at this time in the cohort's time zone"),
    (timing.AT, "At a date and time in the cohort's time zone"),
    (timing.NOW, "As soon as it is scheduled"),
]


class EmailForm(forms.Form):
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "true"}))
    module = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    audience = forms.ChoiceField(choices=AUDIENCE_CHOICES, initial=audiences.ALL)
    groups = forms.CharField(required=False, help_text=gettext_lazy("Group numbers, e.g. 1, 4, 7"))
    question = forms.ChoiceField(required=False)
    answer = forms.CharField(required=False, max_length=200)
    addresses = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=gettext_lazy("Learners' addresses, separated by spaces or commas"))
    welcome = forms.BooleanField(required=False, label=gettext_lazy(
        "This is the welcome email: send it to each learner as soon as they confirm their signup"))
    schedule = forms.ChoiceField(choices=SCHEDULE_CHOICES, initial=timing.LOCAL, widget=forms.RadioSelect)
    day = forms.IntegerField(required=False, min_value=-365, max_value=3650, initial=0)
    time = forms.TimeField(required=False, input_formats=["%H:%M"], initial="09:00",
                           widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    at = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    phase = forms.ChoiceField(required=False, choices=CourseEmail.PHASES, initial=CourseEmail.PHASE_ANY,
                              label=gettext_lazy("Only while it is true"),
                              help_text=gettext_lazy(
                                  "An email for before the start (or the grouping check) is not sent to "
                                  "learners for whom that phase is over"))
    preview_as = forms.CharField(required=False, max_length=254, label=gettext_lazy("Preview as"),
                                 help_text=gettext_lazy("A learner's address, or empty for a sample learner"))

    def __init__(self, *args: Any, cohort: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cohort = cohort
        _choice_field(self, "module").choices = [("", "No module")] + [
            (m.position, f"{m.position}. {m.title}") for m in cohort.course.modules.all()]
        _choice_field(self, "question").choices = [("", "—")] + [
            (q["id"], q.get("label", q["id"])) for q in cohort.course.questions or []]

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError(_("The subject must be on one line."))
        return subject

    def clean_body(self) -> str:
        # Browsers send a textarea's lines with CRLF; course folders and mail keep LF.
        # A body ends with one line end, as in a course folder's email file.
        body = self.cleaned_data["body"].replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        return body + "\n" if body else body

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        try:
            data["audience_json"] = self._audience(data)
        except audiences.AudienceError as exc:
            self.add_error("audience", str(exc))
        try:
            data["schedule_spec"] = self._schedule(data)
        except timing.ScheduleError as exc:
            self.add_error("schedule", str(exc))
        return data

    def _audience(self, data: dict) -> dict:
        kind = data.get("audience") or audiences.ALL
        questions = self.cohort.course.questions or []
        if kind == audiences.GROUPS:
            numbers = [n for n in (data.get("groups") or "").replace(",", " ").split() if n]
            if not all(n.isdigit() for n in numbers):
                raise audiences.AudienceError("groups: write group numbers separated by commas, e.g. 1, 4")
            return audiences.parse_audience({"groups": [int(n) for n in numbers]}, questions)
        if kind == audiences.ANSWER:
            return audiences.parse_audience({"question": data.get("question"), "answer": data.get("answer")},
                                            questions)
        if kind == audiences.TEST:
            return audiences.parse_audience({"test": data.get("addresses") or ""}, questions)
        return audiences.parse_audience(kind, questions)

    def _schedule(self, data: dict) -> timing.Schedule:
        kind = data.get("schedule") or timing.LOCAL
        if kind == timing.NOW:
            return timing.Schedule(timing.NOW)
        if kind == timing.AT:
            at: datetime | None = data.get("at")
            if at is None:
                raise timing.ScheduleError("choose the date and time to send it")
            return timing.Schedule(timing.AT, at=at.replace(tzinfo=None, second=0, microsecond=0))
        if data.get("day") is None or data.get("time") is None:
            raise timing.ScheduleError("give the day after the start (0 is the first day) and the time")
        return timing.Schedule(kind, day=data["day"], time=data["time"])


def initial_for(email: CourseEmail) -> dict:
    """The form's values for a saved email."""
    from mmooc.emails.scheduling import email_schedule

    aud = email.audience or {"kind": audiences.ALL}
    spec = email_schedule(email) or timing.Schedule(timing.NOW)
    return {
        "subject": email.subject, "body": email.body, "welcome": bool(email.trigger),
        "module": email.module.position if email.module else "",
        "audience": aud.get("kind", audiences.ALL),
        "groups": ", ".join(str(n) for n in aud.get("groups", [])),
        "question": aud.get("question", ""), "answer": aud.get("answer", ""),
        "addresses": ", ".join(aud.get("addresses", [])),
        "schedule": spec.kind, "day": spec.day if spec.day is not None else 0,
        "time": spec.time.strftime("%H:%M") if spec.time else "09:00",
        "at": spec.at.strftime("%Y-%m-%dT%H:%M") if spec.at else "",
        "phase": email.phase,
    }


class CopyForm(forms.Form):
    source = forms.ChoiceField(label=gettext_lazy("Copy every email of"))

    def __init__(self, *args: Any, cohort: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        others = cohort.course.cohorts.exclude(pk=cohort.pk).order_by("-start_date")
        _choice_field(self, "source").choices = [(c.slug, f"{c.title or c.slug} (starts {c.start_date})")
                                                 for c in others]


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """The form's own copy of a choice field, to give it this cohort's choices."""
    return cast(forms.ChoiceField, form.fields[name])


class UploadForm(forms.Form):
    folder = forms.FileField(label=gettext_lazy("Course folder (.zip)"))
    dry_run = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Only check: show what would change"))
