"""Staff pages for a cohort's study groups, mounted at /dashboard/: grouping, the groups, moderation."""

from django.urls import path

from mmooc.groups import staff_views, views

app_name = "groups"
COHORT = "cohorts/<slug:cohort>/"
MEMBER = COHORT + "groups/<int:number>/members/<int:membership_id>/"

urlpatterns = [
    path(COHORT + "grouping/", views.grouping, name="grouping"),
    path(COHORT + "grouping/apply/", views.apply, name="apply"),
    path(COHORT + "grouping/check/", views.send_check, name="send_check"),
    path(COHORT + "grouping/minimum/", views.minimum_size, name="minimum_size"),
    path(COHORT + "groups/", staff_views.group_list, name="list"),
    path(COHORT + "groups/<int:number>/", staff_views.group_detail, name="detail"),
    path(MEMBER + "move/", staff_views.member_move, name="member_move"),
    path(MEMBER + "remove/", staff_views.member_remove, name="member_remove"),
    path(MEMBER + "mute/", staff_views.member_mute, name="member_mute"),
]
