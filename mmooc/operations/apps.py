from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "mmooc.operations"
    label = "operations"

    def ready(self) -> None:
        from mmooc.operations import checks  # noqa: F401  (registers the configuration checks)
