"""URLs: each app owns its own; the course landing pages (`/<course>/…`) come last."""

import anymail.urls
from django.contrib import admin
from django.urls import include, path

from mmooc.api.urls import api_urls, dashboard_urls
from mmooc.lib.webhooks import guarded
from mmooc.operations.views import metrics
from mmooc.site.views import healthz

admin.site.site_header = "Mechanical MOOC administration"
admin.site.site_title = "Mechanical MOOC"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # Every provider webhook: 400, never 500, to a request it cannot read (lib/webhooks.py).
    path("api/v1/", include((api_urls(), "api"))),
    path("anymail/", include(guarded(anymail.urls))),
    path("", include("mmooc.mailer.urls")),
    path("dashboard/", include("mmooc.dashboard.urls")),
    path("dashboard/", include("mmooc.emails.urls")),
    path("dashboard/", include("mmooc.groups.urls")),
    path("dashboard/", include("mmooc.lists.staff_urls")),
    path("dashboard/", include("mmooc.checkins.urls")),
    path("dashboard/", include("mmooc.insights.urls")),
    path("dashboard/", include("mmooc.mailer.suppression_urls")),
    path("dashboard/", include("mmooc.site.urls")),
    path("dashboard/", include("mmooc.hooks.urls")),
    path("dashboard/", include(dashboard_urls)),
    path("groups/", include("mmooc.lists.urls")),
    path("", include("mmooc.emails.public_urls")),
    path("", include("mmooc.groups.public_urls")),
    path("", include("mmooc.learners.urls")),
]
