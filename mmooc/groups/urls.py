from django.urls import path

from mmooc.groups import views

app_name = "groups"
urlpatterns = [
    path("cohorts/<slug:slug>/grouping/", views.grouping, name="grouping"),
    path("cohorts/<slug:slug>/grouping/apply/", views.apply, name="apply"),
    path("cohorts/<slug:slug>/grouping/check/", views.send_check, name="send_check"),
]
