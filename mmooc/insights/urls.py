"""Staff pages of group health, remedies and the research export, mounted at /dashboard/."""

from django.urls import path

from mmooc.insights import views

app_name = "insights"
COHORT = "cohorts/<slug:cohort>/"

urlpatterns = [
    path(COHORT + "groups/health/", views.health_page, name="health"),
    path(COHORT + "groups/remedies/", views.remedies_page, name="remedies"),
    path(COHORT + "groups/remedies/apply/", views.apply_remedy, name="apply"),
    path(COHORT + "research/", views.research_page, name="research"),
    path(COHORT + "research/export.zip", views.research_download, name="research_download"),
]
