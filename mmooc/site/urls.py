"""The site's pages: /healthz, and the course folder upload mounted at /dashboard/."""

from django.urls import path

from mmooc.site import views

app_name = "site"
urlpatterns = [
    path("cohorts/<slug:cohort>/emails/upload", views.upload_folder, name="upload"),
]
