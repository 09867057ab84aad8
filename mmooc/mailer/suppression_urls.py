from django.urls import path

from mmooc.mailer import suppression_views as views

app_name = "mailer_suppression"
urlpatterns = [
    path("suppressions/", views.index, name="index"),
    path("suppressions/add", views.add, name="add"),
    path("suppressions/remove", views.remove, name="remove"),
    path("suppressions/import", views.import_csv, name="import"),
    path("suppressions/export.csv", views.export_csv, name="export"),
    path("suppressions/resume-domain", views.resume_domain, name="resume_domain"),
]
