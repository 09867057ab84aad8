"""Staff pages for outgoing webhooks, mounted at /dashboard/."""

from django.urls import path

from mmooc.hooks import views

app_name = "hooks"
ENDPOINT = "webhooks/<uuid:public_id>/"

urlpatterns = [
    path("webhooks/", views.index, name="index"),
    path("webhooks/add", views.add, name="add"),
    path(ENDPOINT, views.detail, name="detail"),
    path(ENDPOINT + "edit", views.edit, name="edit"),
    path(ENDPOINT + "rotate", views.rotate, name="rotate"),
    path(ENDPOINT + "delete", views.delete, name="delete"),
    path(ENDPOINT + "deliveries/<int:delivery_id>/redeliver", views.redeliver, name="redeliver"),
]
