"""Mounted at the site root, after every other app: the catch-all course pages come last."""

from django.urls import path

from mmooc.learners import page_views, staff_views, views

app_name = "learners"
urlpatterns = [
    path("", views.home, name="home"),
    path("api/cohorts/<slug:cohort>/signups", views.api_signup, name="api_signup"),
    path("c/<str:token>", views.confirm, name="confirm"),
    path("w/<str:token>", views.waitlist_confirm, name="waitlist_confirm"),
    path("me/", page_views.send_link, name="send_link"),
    path("me/<str:token>", page_views.page, name="page"),
    path("me/<str:token>/leave", page_views.leave, name="leave"),
    path("me/<str:token>/rejoin", page_views.rejoin, name="rejoin"),
    path("me/<str:token>/delete", page_views.erase, name="erase"),
    path("me/<str:token>/addresses/<uuid:alias_id>/remove", page_views.remove_alias, name="remove_alias"),
    path("u/<str:token>", page_views.unsubscribe, name="unsubscribe"),
    path("dashboard/cohorts/<slug:cohort>/learners/", staff_views.learner_list, name="staff_list"),
    path("dashboard/cohorts/<slug:cohort>/learners/import", staff_views.import_csv, name="staff_import"),
    path("dashboard/cohorts/<slug:cohort>/learners/<uuid:public_id>", staff_views.learner_detail,
         name="staff_detail"),
    path("<slug:course>/", views.course_landing, name="course"),
    path("<slug:course>/waitlist", views.waitlist, name="waitlist"),
    path("<slug:course>/<slug:cohort>/", views.cohort_landing, name="cohort"),
    path("<slug:course>/<slug:cohort>/embed", views.embed, name="embed"),
]
