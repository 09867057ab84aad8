from django.apps import AppConfig


class LearnersConfig(AppConfig):
    name = "mmooc.learners"
    label = "learners"
