"""Staff pages for a cohort's check-ins, mounted at /dashboard/."""

from django.urls import path

from mmooc.checkins import views

app_name = "checkins"
COHORT = "cohorts/<slug:cohort>/"

urlpatterns = [
    path(COHORT + "checkins/", views.checkins, name="checkins"),
    path(COHORT + "checkins/summary/", views.summary_switch, name="summary_switch"),
]
