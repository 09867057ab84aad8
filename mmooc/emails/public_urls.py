"""Public pages of course emails: view in browser, cohort archive, Atom and iCalendar feeds."""

from django.urls import path  # noqa: F401

app_name = "emails_public"
urlpatterns: list = []
