from django.urls import path

from mmooc.groups import views

app_name = "groups_public"
urlpatterns = [
    path("group-check/<str:token>/<str:answer>/", views.check_answer, name="check"),
    path("group-delivery/<str:token>/", views.delivery, name="delivery"),
    path("group-move/<str:token>/", views.move_nearer, name="move_nearer"),
]
