from typing import Any

from django.apps import AppConfig

PRUNE_EVERY = 3600  # idempotency keys older than a day are deleted once an hour


def _prune() -> int:
    # Imported when run: mmooc.api.idempotency imports django-ninja and pydantic (about 200 ms
    # and several MB), which `mmooc worker` and `mmooc lmtp` would otherwise carry for nothing.
    from mmooc.api import idempotency

    return idempotency.prune()


def _forget_erased(sender: Any, **kwargs: Any) -> None:
    from mmooc.api import idempotency

    idempotency.forget_erased(sender, **kwargs)


class ApiConfig(AppConfig):
    name = "mmooc.api"
    label = "api"

    def ready(self) -> None:
        from mmooc.learners.signals import learner_erased
        from mmooc.lib import periodic

        periodic.register("api.prune", _prune, every=PRUNE_EVERY)
        learner_erased.connect(_forget_erased, dispatch_uid="mmooc.api.forget_erased")
