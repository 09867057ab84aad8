from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "mmooc.emails"
    label = "emails"
    verbose_name = "Course emails"
