from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "mmooc.emails"
    label = "emails"
    verbose_name = "Course emails"

    def ready(self) -> None:
        from mmooc.emails import receivers  # noqa: F401  (connects the learner_confirmed receiver)
        from mmooc.emails.public_views import week_emails
        from mmooc.learners import sections

        sections.add_week_emails(week_emails)
