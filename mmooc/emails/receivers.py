"""What course emails do when a learner confirms (the welcome, late additions), leaves, changes
zone, or when their study group changes (queued copies show the group as it is)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from mmooc.groups.signals import groups_formed, member_placed
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


@receiver(groups_formed, dispatch_uid="emails.groups_formed")
def on_groups_formed(sender: Any, cohort: Any, **kwargs: Any) -> None:
    """The whole cohort's copies change: left to the periodic job (see `refresh_pending_groups`)."""
    from mmooc.emails import scheduling

    scheduling.request_group_refresh(cohort)


@receiver(member_placed, dispatch_uid="emails.member_placed")
def on_member_placed(sender: Any, membership: Any, **kwargs: Any) -> None:
    from mmooc.emails import scheduling

    scheduling.refresh_groups(membership.group.cohort, [membership.learner_id])


@receiver(signals.learner_wants_group, dispatch_uid="emails.wants_group")
def on_learner_wants_group(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.emails import scheduling

    scheduling.refresh_groups(learner.cohort, [learner.pk])


@receiver(signals.learner_left_group, dispatch_uid="emails.left_group")
def on_learner_left_group(sender: Any, learner: Any, **kwargs: Any) -> None:
    from mmooc.emails import scheduling

    # Sent inside the choice's transaction, before or after the groups app ends the membership.
    transaction.on_commit(lambda: scheduling.refresh_groups(learner.cohort, [learner.pk]))
