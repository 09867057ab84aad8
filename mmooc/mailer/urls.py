from django.urls import path

from mmooc.mailer import views

app_name = "mailer"
urlpatterns = [
    path("outbox/", views.outbox_list, name="outbox"),
    path("outbox/<uuid:public_id>/", views.outbox_message, name="outbox_message"),
    path("outbox/<uuid:public_id>/<int:delivery_id>/", views.outbox_copy, name="outbox_copy"),
    path("outbox/<uuid:public_id>/<int:delivery_id>/source", views.outbox_source, name="outbox_source"),
    path("outbox/<uuid:public_id>/<int:delivery_id>/reveal", views.outbox_reveal, name="outbox_reveal"),
]
