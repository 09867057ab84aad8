"""Public pages of course emails: view in browser, cohort archive, Atom and iCalendar feeds."""

from django.urls import path

from mmooc.emails import public_views

app_name = "emails_public"
urlpatterns = [
    path("emails/<uuid:public_id>/", public_views.view, name="view"),
    path("me/<str:token>/catch-up", public_views.catch_up, name="catch_up"),
    path("<slug:course>/<slug:cohort>/archive/", public_views.archive, name="archive"),
    path("<slug:course>/<slug:cohort>/feed.atom", public_views.feed, name="feed"),
    path("<slug:course>/<slug:cohort>/calendar.ics", public_views.calendar, name="calendar"),
]
