"""URLs: each app owns its own; the course landing pages (`/<course>/…`) come last."""

from django.contrib import admin
from django.urls import include, path

from mmooc.operations.views import metrics
from mmooc.site.views import healthz

admin.site.site_header = "Mechanical MOOC administration"
admin.site.site_title = "Mechanical MOOC"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("anymail/", include("anymail.urls")),
    path("", include("mmooc.mailer.urls")),
    path("dashboard/", include("mmooc.dashboard.urls")),
    path("dashboard/", include("mmooc.emails.urls")),
    path("dashboard/", include("mmooc.groups.urls")),
    path("dashboard/", include("mmooc.mailer.suppression_urls")),
    path("dashboard/", include("mmooc.site.urls")),
    path("groups/", include("mmooc.lists.urls")),
    path("", include("mmooc.emails.public_urls")),
    path("", include("mmooc.groups.public_urls")),
    path("", include("mmooc.learners.urls")),
]
