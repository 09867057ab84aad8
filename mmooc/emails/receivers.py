"""What course emails do when a learner confirms: the welcome, and late additions."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from mmooc.learners import signals
from mmooc.learners.signals import learner_confirmed, learner_left

log = logging.getLogger("mmooc.emails")


@receiver(learner_confirmed, dispatch_uid="emails.welcome_and_late")
def on_learner_confirmed(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.emails import scheduling

    # The signup is already committed: a failure here is logged for the operator rather than
    # shown to the learner as an error page.
    try:
        scheduling.send_welcome(learner)
        added = scheduling.add_late_learner(learner)
    except Exception:
        log.exception("course emails for newly confirmed learner %s failed", learner.public_id)
        return
    if added:
        log.info("learner %s added to %d scheduled course emails", learner.public_id, added)


@receiver(learner_left, dispatch_uid="emails.withdraw_left")
def on_learner_left(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.emails import scheduling

    scheduling.withdraw(learner)


@receiver(signals.learner_unsubscribed, dispatch_uid="emails.withdraw_unsubscribed")
def on_learner_unsubscribed(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.emails import scheduling

    scheduling.withdraw(learner)


@receiver(signals.learner_zone_changed, dispatch_uid="emails.retime")
def on_learner_zone_changed(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.emails import scheduling

    scheduling.retime(learner)
