from django.apps import AppConfig


class LearnersConfig(AppConfig):
    name = "mmooc.learners"
    label = "learners"

    def ready(self) -> None:
        from mmooc.learners import receivers  # noqa: F401  (connects the mailer's signals)
        from mmooc.learners.registration import purge_unconfirmed
        from mmooc.lib import periodic

        # Unconfirmed signups are forgotten once their link has expired.
        periodic.register("learners.purge", purge_unconfirmed, every=3600)
