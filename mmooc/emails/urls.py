"""Staff pages for course emails, mounted at /dashboard/: compose, schedule, and a sent email's progress."""

from django.urls import path, re_path

from mmooc.emails import sending, variants, views

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
    path(EMAIL + "plan", views.send_plan, name="plan"),
    path(EMAIL + "cancel", views.cancel_email, name="cancel"),
    path(EMAIL + "test", views.test_email, name="test"),
    path(EMAIL + "duplicate", views.duplicate_email, name="duplicate"),
    path(EMAIL + "languages/<str:language>", variants.variant_page, name="variant"),
    path(COHORT + "modules/<int:position>/", views.module_page, name="module"),
    path("emails/<uuid:public_id>/", sending.email_page, name="sending"),
    path("emails/<uuid:public_id>/progress.json", sending.progress_json, name="progress"),
    re_path(r"^emails/(?P<public_id>[0-9a-f-]{36})/(?P<action>pause|resume|cancel)/$", sending.control,
            name="control"),
]
