"""Group archives, mounted at /groups/."""

from django.urls import path

from mmooc.lists import alias_views, views

app_name = "lists"
urlpatterns = [
    path("<uuid:public_id>/", views.group_archive, name="group_archive"),
    path("<uuid:public_id>/posts/<int:post_id>/visibility", views.post_visibility, name="post_visibility"),
    path("<uuid:public_id>/threads/<int:post_id>/", views.group_thread, name="group_thread"),
    path("archive/<str:token>/", views.archive, name="archive"),
    path("archive/<str:token>/threads/<int:post_id>/", views.archive_thread, name="archive_thread"),
    path("also-me/<str:token>", alias_views.also_me, name="also_me"),
    path("also-me/yes/<str:token>", alias_views.also_me_confirm, name="also_me_confirm"),
]
