"""Staff pages for course emails, mounted at /dashboard/."""

from django.urls import path

from mmooc.emails import views

app_name = "emails"
COHORT = "cohorts/<slug:cohort>/"
EMAIL = COHORT + "emails/<uuid:public_id>/"

urlpatterns = [
    path(COHORT + "emails/", views.email_list, name="list"),
    path(COHORT + "emails/new", views.compose, name="new"),
    path(COHORT + "emails/preview", views.preview, name="preview"),
    path(COHORT + "emails/copy", views.copy_cohort, name="copy"),
    path(EMAIL, views.compose, name="edit"),
    path(EMAIL + "schedule", views.schedule_email, name="schedule"),
    path(EMAIL + "cancel", views.cancel_email, name="cancel"),
    path(EMAIL + "test", views.test_email, name="test"),
    path(EMAIL + "duplicate", views.duplicate_email, name="duplicate"),
    path(COHORT + "modules/<int:position>/", views.module_page, name="module"),
]
