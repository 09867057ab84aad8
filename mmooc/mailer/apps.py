from django.apps import AppConfig


class MailerConfig(AppConfig):
    name = "mmooc.mailer"
    label = "mailer"

    def ready(self) -> None:
        from mmooc.lib import periodic
        from mmooc.mailer import checks, counts, events, retention  # noqa: F401  (anymail's tracking signal; configuration checks)
        from mmooc.mailer.health import outbox_metrics
        from mmooc.operations import metrics

        metrics.counter("deliveries", "Copies the delivery engine finished a try of, by outcome "
                        "(deferred: each retry put off; failed and suppressed: for good).", label="outcome")
        metrics.collector(outbox_metrics)
        periodic.register(retention.JOB, retention.run, every=retention.EVERY)
        periodic.register(counts.JOB, counts.run, every=counts.EVERY)
