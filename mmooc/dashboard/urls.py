"""Staff pages, mounted at /dashboard/."""

from django.urls import path, re_path

from mmooc.emails import sending
from mmooc.groups import staff_views as study_groups

from . import export_views, signin, views

app_name = "dashboard"
COHORT = "cohorts/<slug:slug>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", signin.login, name="login"),
    path("logout/", signin.logout, name="logout"),
    path("audit/", views.audit, name="audit"),
    path("courses/<slug:slug>/cost/", views.course_cost, name="course_cost"),
    path(COHORT, views.overview, name="overview"),
    path(COHORT + "cost/", views.cohort_cost, name="cost"),
    path(COHORT + "groups/", study_groups.group_list, name="groups"),
    path(COHORT + "groups/<int:number>/", study_groups.group_detail, name="group"),
    path(COHORT + "groups/<int:number>/members/<int:membership_id>/move/", study_groups.member_move,
         name="member_move"),
    path(COHORT + "groups/<int:number>/members/<int:membership_id>/remove/", study_groups.member_remove,
         name="member_remove"),
    path(COHORT + "groups/<int:number>/members/<int:membership_id>/mute/", study_groups.member_mute,
         name="member_mute"),
    path(COHORT + "export/", export_views.export_index, name="exports"),
    re_path(r"^cohorts/(?P<slug>[-\w]+)/export/(?P<name>learners\.(csv|json)|groups\.csv|deliveries\.csv)$",
            export_views.export_file, name="export"),
    path(COHORT + "export/group-<int:number>.mbox", export_views.export_mbox, name="export_mbox"),
    path(COHORT + "export/cohort.zip", export_views.export_zip, name="export_zip"),
    path("emails/<uuid:public_id>/", sending.email_page, name="email"),
    path("emails/<uuid:public_id>/progress.json", sending.progress_json, name="email_progress"),
    re_path(r"^emails/(?P<public_id>[0-9a-f-]{36})/(?P<action>pause|resume|cancel)/$", sending.control,
            name="email_control"),
]
