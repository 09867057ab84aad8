from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "mmooc.emails"
    label = "emails"
    verbose_name = "Course emails"

    def ready(self) -> None:
        from mmooc.emails import receivers  # noqa: F401  (connects the learner_confirmed receiver)
