"""Staff pages of the dashboard itself, mounted at /dashboard/: sign-in, cohorts, cost, exports, audit."""

from django.urls import path, re_path

from . import export_views, signin, views

app_name = "dashboard"
COHORT = "cohorts/<slug:cohort>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", signin.login, name="login"),
    path("logout/", signin.logout, name="logout"),
    path("audit/", views.audit, name="audit"),
    path("courses/<slug:course>/cost/", views.course_cost, name="course_cost"),
    path(COHORT, views.overview, name="overview"),
    path(COHORT + "cost/", views.cohort_cost, name="cost"),
    path(COHORT + "export/", export_views.export_index, name="exports"),
    re_path(r"^cohorts/(?P<cohort>[-\w]+)/export/(?P<name>learners\.(csv|json)|groups\.csv|deliveries\.csv)$",
            export_views.export_file, name="export"),
    path(COHORT + "export/group-<int:number>.mbox", export_views.export_mbox, name="export_mbox"),
    path(COHORT + "export/cohort.zip", export_views.export_zip, name="export_zip"),
    # The learner list's links to the same file as export/learners.csv and export/learners.json.
    re_path(r"^cohorts/(?P<cohort>[-\w]+)/learners/export\.(?P<fmt>csv|json)$", export_views.learners_file,
            name="learners_export"),
]
