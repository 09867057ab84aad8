"""What study groups do when learners confirm, ask for a group or leave (signals from learners)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from mmooc.learners import signals

log = logging.getLogger("mmooc.groups")


@receiver(signals.learner_wants_group, dispatch_uid="groups.late_joiner")
def on_learner_wants_group(sender: Any, learner: Any, **kwargs: Any) -> None:
    """A learner just confirmed (after their course welcome was queued), or asked for a group
    on their page: place them if the cohort already has groups."""
    from mmooc.groups import membership

    # The choice is already committed: a failure is logged for the operator rather than
    # shown to the learner; staff see them among the waiting learners.
    try:
        placed = membership.place_late_joiner(learner)
    except Exception:
        log.exception("placing late joiner %s in a group failed", learner.public_id)
        return
    if placed is not None:
        log.info("late joiner %s placed in %s", learner.public_id, placed.group.name)


@receiver(signals.learner_left, dispatch_uid="groups.learner_left")
def on_learner_left(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.groups import membership

    membership.leave(learner)


@receiver(signals.learner_left_group, dispatch_uid="groups.learner_left_group")
def on_learner_left_group(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.groups import membership

    membership.leave(learner)

