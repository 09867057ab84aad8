from django.apps import AppConfig

# The weekly summaries: looking every hour sends each group's soon after its week turns.
SUMMARY_EVERY = 3600


class CheckinsConfig(AppConfig):
    name = "mmooc.checkins"
    label = "checkins"
    verbose_name = "Check-ins"

    def ready(self) -> None:
        from mmooc.checkins import pages
        from mmooc.checkins.summary import send_summaries
        from mmooc.groups import panels
        from mmooc.learners import sections
        from mmooc.learners.signals import learner_erased
        from mmooc.lib import periodic
        from mmooc.operations import metrics

        periodic.register("checkins.summary", send_summaries, every=SUMMARY_EVERY)
        sections.add_page_section(pages.learner_section)
        panels.register(pages.group_panel)
        learner_erased.connect(pages.forget_erased, dispatch_uid="mmooc.checkins.forget_erased")
        metrics.counter("checkins", "Check-ins received by mail, by outcome.", label="outcome")
