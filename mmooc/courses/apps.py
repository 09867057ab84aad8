from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "mmooc.courses"
    label = "courses"

    def ready(self) -> None:
        from mmooc.courses.access import limited
        from mmooc.lib import staff

        staff.set_limited(limited)  # organizers assigned to cohorts are not site-wide
