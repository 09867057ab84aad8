from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "mmooc.operations"
    label = "operations"
