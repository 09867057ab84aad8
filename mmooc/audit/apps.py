from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mmooc.audit"
    label = "audit"
