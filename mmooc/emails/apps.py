from django.apps import AppConfig

# Seconds between looks for copies of phase emails whose phase has ended.
PHASES_EVERY = 60
# How often the emails being sent are looked at to see whether their send has finished.
STATES_EVERY = 60


class EmailsConfig(AppConfig):
    name = "mmooc.emails"
    label = "emails"
    verbose_name = "Course emails"

    def ready(self) -> None:
        from mmooc.emails import receivers  # noqa: F401  (connects the learner_confirmed receiver)
        from mmooc.emails.catchup import page_section
        from mmooc.emails.phases import end_phases
        from mmooc.emails.public_views import week_emails
        from mmooc.emails.scheduling import GROUPS_JOB, refresh_pending_groups, refresh_sending
        from mmooc.learners import sections
        from mmooc.lib import periodic

        sections.add_week_emails(week_emails)
        sections.add_page_section(page_section)  # a late joiner's catch-up email
        periodic.register("emails.phases", end_phases, every=PHASES_EVERY)
        # A send that finished moves its email to "sent" within a minute, page open or not.
        periodic.register("emails.states", refresh_sending, every=STATES_EVERY)
        # Copies showing the groups, just after a grouping is applied (woken by it).
        periodic.register(GROUPS_JOB, refresh_pending_groups, every=periodic.INTERVAL)
