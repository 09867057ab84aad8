"""What learners do when the mail engine hears about an address: unsubscribes, complaints."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from mmooc.learners.models import Learner, Unsubscribe, email_key
from mmooc.mailer.signals import complained, suppressed, unsubscribed

GROUP_TAGS = {"relay", "group-welcome", "group-intro", "digest"}


def _learner_for(address: str, delivery: Any) -> Learner | None:
    """The learner a delivery was for (by its ref), else None."""
    ref = getattr(delivery, "ref", "") if delivery is not None else ""
    if not ref:
        return None
    learner = Learner.objects.filter(public_id=_uuid_or_none(ref)).first() if _uuid_or_none(ref) else None
    if learner is not None and learner.email_key != email_key(address):
        return None
    return learner


def _uuid_or_none(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@receiver(unsubscribed, dispatch_uid="learners.unsubscribed")
def on_unsubscribed(sender: Any, address: str, delivery: Any = None, source: str = "", **kw: Any) -> None:
    """A provider or mailto unsubscribe: group mail leaves the group; other mail stops course mail."""
    from mmooc.learners import lifecycle

    learner = _learner_for(address, delivery)
    tag = getattr(getattr(delivery, "message", None), "tag", "")
    if learner is not None:
        scope = Unsubscribe.GROUP if tag in GROUP_TAGS else Unsubscribe.COHORT
        lifecycle.unsubscribe(learner, scope, Unsubscribe.PROVIDER)
        return
    # No delivery to go by: stop course mail in every cohort this address is in.
    now = timezone.now()
    for learner in Learner.objects.filter(email_key=email_key(address)).exclude(state=Learner.ERASED):
        lifecycle.unsubscribe(learner, Unsubscribe.COHORT, Unsubscribe.PROVIDER, now=now)


@receiver(complained, dispatch_uid="learners.complained")
def on_complained(sender: Any, address: str, delivery: Any = None, **kw: Any) -> None:
    """A spam complaint: flag every signup of the address and stop its course mail."""
    from mmooc.learners import lifecycle

    lifecycle.complain(address)


@receiver(suppressed, dispatch_uid="learners.suppressed")
def on_suppressed(sender: Any, suppression: Any, **kw: Any) -> None:
    """An address the engine will never mail again: record an unsubscribe-from-all when so."""
    from mmooc.mailer.models import Suppression

    if suppression.reason != Suppression.UNSUBSCRIBE:
        return  # bounces and complaints: audiences skip suppressed addresses at send time
    key = email_key(suppression.address)
    for learner in Learner.objects.filter(email_key=key).exclude(state=Learner.ERASED):
        if not learner.unsubscribes.filter(scope=Unsubscribe.SITE).exists():
            Unsubscribe.objects.create(learner=learner, email_key=key, scope=Unsubscribe.SITE,
                                       source=Unsubscribe.PROVIDER)
