from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mmooc.courses.models import Cohort
from mmooc.hooks import targets
from mmooc.hooks.events import TYPES
from mmooc.hooks.exceptions import TargetRefused
from mmooc.hooks.models import HookDelivery


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=100, error_messages={"required": "Give the endpoint a name."})
    url = forms.CharField(max_length=targets.MAX_URL, label=gettext_lazy("URL"),
                          error_messages={"required": "Enter the address that receives the events."})
    events = forms.MultipleChoiceField(choices=TYPES, widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": "Choose at least one event."})
    cohort = forms.ModelChoiceField(Cohort.objects.select_related("course").order_by("slug"), required=False,
                                    to_field_name="slug", empty_label=gettext_lazy("Every cohort"))
    active = forms.BooleanField(required=False, initial=True)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the endpoint a name."))
        return name

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            targets.check(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
        except TargetRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


class LogForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *HookDelivery.STATUSES], required=False)
    page = forms.IntegerField(required=False, min_value=1)
