from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "mmooc.site"
    label = "site"
