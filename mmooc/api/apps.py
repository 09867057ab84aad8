from django.apps import AppConfig

PRUNE_EVERY = 3600  # idempotency keys older than a day are deleted once an hour


class ApiConfig(AppConfig):
    name = "mmooc.api"
    label = "api"

    def ready(self) -> None:
        from mmooc.api import idempotency
        from mmooc.learners.signals import learner_erased
        from mmooc.lib import periodic

        periodic.register("api.prune", idempotency.prune, every=PRUNE_EVERY)
        learner_erased.connect(idempotency.forget_erased, dispatch_uid="mmooc.api.forget_erased")
