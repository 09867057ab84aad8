from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "mmooc.groups"
    label = "groups"
    verbose_name = "Study groups"

    def ready(self) -> None:
        from mmooc.groups import receivers  # noqa: F401  (connects the learners' signals)
