from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "mmooc.groups"
    label = "groups"
    verbose_name = "Study groups"

    def ready(self) -> None:
        from mmooc.groups import receivers  # connects the learners' signals
        from mmooc.groups.welcome import JOB, queue_pending
        from mmooc.learners import sections
        from mmooc.lib import periodic

        periodic.register(JOB, queue_pending, every=periodic.INTERVAL)
        sections.add_group_section(receivers.group_section)
