from django.apps import AppConfig


class MailerConfig(AppConfig):
    name = "mmooc.mailer"
    label = "mailer"

    def ready(self) -> None:
        from mmooc.mailer import events  # noqa: F401  (connects the receiver of anymail's tracking signal)
