from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "mmooc.courses"
    label = "courses"
