from django.apps import AppConfig

PRUNE_EVERY = 3600  # closed rate-limit windows are deleted once an hour


class OperationsConfig(AppConfig):
    name = "mmooc.operations"
    label = "operations"

    def ready(self) -> None:
        from mmooc.lib import periodic
        from mmooc.operations import checks, ratelimits  # noqa: F401  (checks registers the configuration checks)

        periodic.register("operations.prune", ratelimits.prune, every=PRUNE_EVERY)
