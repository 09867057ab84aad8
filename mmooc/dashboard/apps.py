from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "mmooc.dashboard"
    label = "dashboard"
