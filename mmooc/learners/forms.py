from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mmooc.courses.models import Course
from mmooc.learners import validation
from mmooc.learners.registration import Signup, looks_automated

GROUP_CHOICES = [("group", _("Study in a group")), ("solo", _("On my own"))]
QUESTION_PREFIX = "q_"


class SignupForm(forms.Form):
    """The signup form and the signup API: the course's questions become `q_<id>` fields."""

    email = forms.CharField(max_length=400, strip=False,
                            widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    name = forms.CharField(max_length=400, required=False, strip=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    timezone = forms.CharField(max_length=100, label=_("Time zone"))
    language = forms.ChoiceField(choices=validation.LANGUAGES, initial="en", required=False,
                                 label=_("Preferred language"))
    group = forms.CharField(required=False, initial="group", label=_("How do you want to study?"),
                            widget=forms.RadioSelect(choices=GROUP_CHOICES))
    # Left empty by people; bots fill every field.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def __init__(self, course: Course, *args: Any, answers: object = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.course = course
        self.raw_answers = answers
        self.answer_errors: list[str] = []
        for question in course.questions:
            if question.get("id"):
                self.fields[QUESTION_PREFIX + question["id"]] = question_field(question)

    def clean_email(self) -> str:
        return validation.clean_address(self.cleaned_data["email"])

    def clean_name(self) -> str:
        return validation.clean_name(self.cleaned_data["name"])

    def clean_timezone(self) -> str:
        return validation.clean_timezone(self.cleaned_data["timezone"])

    def clean_language(self) -> str:
        return validation.clean_language(self.cleaned_data["language"])

    def clean_group(self) -> bool:
        return validation.clean_group(self.cleaned_data["group"])

    def is_bot(self) -> bool:
        """The honeypot filled, or the form posted without its signed `started` time or
        sooner after it than a person could fill it in."""
        return bool(self.data.get("website")) or looks_automated(self.data.get("started"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        raw = self.raw_answers if self.raw_answers is not None else self._form_answers(cleaned)
        try:
            cleaned["answers"] = validation.clean_answers(self.course.questions, raw)
        except ValidationError as exc:
            self.answer_errors = exc.messages
            self.add_error(None, exc)
        return cleaned

    def _form_answers(self, cleaned: dict) -> dict:
        answers = {key.removeprefix(QUESTION_PREFIX): cleaned.get(key) for key in self.fields
                   if key.startswith(QUESTION_PREFIX)}
        # A field posted for a question the course does not ask.
        for key in self.data:
            if key.startswith(QUESTION_PREFIX) and key not in self.fields:
                answers[key.removeprefix(QUESTION_PREFIX)] = self.data.get(key)
        return answers

    def signup(self) -> Signup:
        c = self.cleaned_data
        return Signup(email=c["email"], name=c["name"], timezone=c["timezone"], language=c["language"],
                      wants_group=c["group"], answers=c["answers"])


def question_field(question: dict) -> forms.Field:
    label = question.get("label") or question["id"]
    required = bool(question.get("required"))
    choices = [(str(c), str(c)) for c in question.get("choices", [])]
    kind = question.get("type", "text")
    if kind == "single":
        return forms.ChoiceField(label=label, required=required, choices=choices, widget=forms.RadioSelect)
    if kind == "multiple":
        return forms.MultipleChoiceField(label=label, required=required, choices=choices,
                                         widget=forms.CheckboxSelectMultiple)
    if kind == "yesno":
        return forms.ChoiceField(label=label, required=required, widget=forms.RadioSelect,
                                 choices=[("yes", _("Yes")), ("no", _("No"))])
    return forms.CharField(label=label, required=required, max_length=validation.MAX_TEXT_ANSWER,
                           widget=forms.Textarea(attrs={"rows": 2}))


class PreferencesForm(forms.Form):
    name = forms.CharField(max_length=400, required=False, strip=False)
    timezone = forms.CharField(max_length=100, label=_("Time zone"))
    language = forms.ChoiceField(choices=validation.LANGUAGES, label=_("Language"))
    group = forms.ChoiceField(choices=GROUP_CHOICES, widget=forms.RadioSelect,
                              label=_("How do you want to study?"))

    def clean_name(self) -> str:
        return validation.clean_name(self.cleaned_data["name"])

    def clean_timezone(self) -> str:
        return validation.clean_timezone(self.cleaned_data["timezone"])

    def clean_group(self) -> bool:
        return validation.clean_group(self.cleaned_data["group"])


class AddressForm(forms.Form):
    email = forms.CharField(max_length=400, strip=False, widget=forms.EmailInput())
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def clean_email(self) -> str:
        return validation.clean_address(self.cleaned_data["email"])


class UnsubscribeForm(forms.Form):
    choice = forms.ChoiceField(choices=[("group", _("Leave my study group only")),
                                        ("cohort", _("Stop course emails for this cohort")),
                                        ("site", _("Stop all mail from this site"))],
                               widget=forms.RadioSelect)
