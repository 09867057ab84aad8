from django.apps import AppConfig

# How often the waitlist job looks for cohorts that have opened for signup.
WAITLIST_EVERY = 900


class LearnersConfig(AppConfig):
    name = "mmooc.learners"
    label = "learners"

    def ready(self) -> None:
        from mmooc.learners import receivers  # noqa: F401  (connects the mailer's signals)
        from mmooc.learners.links import register_sent_links
        from mmooc.learners.registration import notify_waitlist, purge_unconfirmed
        from mmooc.lib import periodic
        from mmooc.operations import metrics

        # Course emails' links are signed when each copy is sent, from its ref.
        register_sent_links()
        # Unconfirmed signups are forgotten once their link has expired.
        periodic.register("learners.purge", purge_unconfirmed, every=3600)
        # The waitlist hears when a new cohort opens for signup (once per person per cohort).
        periodic.register("learners.waitlist", notify_waitlist, every=WAITLIST_EVERY)
        metrics.counter("signups", "New signups stored, by where they came from (form, api, import).",
                        label="source")
        metrics.counter("confirmations", "Signups confirmed (double opt-in, or imported with consent), "
                        "and returns of learners who had left.")
        metrics.counter("aliases_added", "Other addresses learners confirmed as theirs (\"this is also me\").")
