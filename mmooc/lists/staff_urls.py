"""The moderation queue, mounted at /dashboard/."""

from django.urls import path

from mmooc.lists import moderation_views

app_name = "moderation"
COHORT = "cohorts/<slug:cohort>/"

urlpatterns = [
    path(COHORT + "moderation/", moderation_views.queue, name="queue"),
    path(COHORT + "moderation/decide/", moderation_views.decide, name="decide"),
    path(COHORT + "moderation/first-post/", moderation_views.first_post, name="first_post"),
]
