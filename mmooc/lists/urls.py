"""Group archives, mounted at /groups/."""

from django.urls import path

from mmooc.lists import alias_views, views

app_name = "lists"
urlpatterns = [
    path("<uuid:public_id>/", views.group_archive, name="group_archive"),
    path("<uuid:public_id>/posts/<int:post_id>/visibility", views.post_visibility, name="post_visibility"),
    path("archive/<str:token>/", views.archive, name="archive"),
    path("also-me/<str:token>", alias_views.also_me, name="also_me"),
    path("also-me/yes/<str:token>", alias_views.also_me_confirm, name="also_me_confirm"),
]
