from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "mmooc.groups"
    label = "groups"
    verbose_name = "Study groups"
