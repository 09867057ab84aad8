from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "mmooc.insights"
    label = "insights"
    verbose_name = "Group health and research export"

    def ready(self) -> None:
        from django.urls import reverse

        from mmooc.groups import activity

        activity.register_page("Group health and remedies",
                               lambda cohort: reverse("insights:health", args=[cohort.slug]))
