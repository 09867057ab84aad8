from django.apps import AppConfig


class MailerConfig(AppConfig):
    name = "mmooc.mailer"
    label = "mailer"
