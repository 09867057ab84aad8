from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "mmooc.groups"
    label = "groups"
    verbose_name = "Study groups"

    def ready(self) -> None:
        from mmooc.courses import access as course_access
        from mmooc.groups import receivers  # noqa: F401  (connects the learners' signals)
        from mmooc.groups.access import facilitated_cohorts
        from mmooc.groups.sections import StaffGroups, group_section
        from mmooc.groups.welcome import JOB, queue_pending
        from mmooc.learners import sections
        from mmooc.lib import periodic

        periodic.register(JOB, queue_pending, every=periodic.INTERVAL)
        sections.add_group_section(group_section)
        sections.register_staff_groups(StaffGroups())
        course_access.set_facilitated(facilitated_cohorts)
