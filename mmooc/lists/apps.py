from django.apps import AppConfig


class ListsConfig(AppConfig):
    name = "mmooc.lists"
    label = "lists"
    verbose_name = "Group lists"
