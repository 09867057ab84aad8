from collections.abc import Callable

from django.apps import AppConfig
from django.dispatch import Signal

# Events whose deliveries all finished are forgotten once a day.
PRUNE_EVERY = 24 * 3600


class HooksConfig(AppConfig):
    name = "mmooc.hooks"
    label = "hooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from mmooc.checkins.signals import checkin_recorded
        from mmooc.emails.signals import email_sent
        from mmooc.groups.signals import groups_formed, member_placed
        from mmooc.hooks import receivers as r
        from mmooc.hooks.events import JOB
        from mmooc.hooks.sender import deliver_due, prune
        from mmooc.learners.signals import learner_confirmed, learner_erased, learner_left
        from mmooc.lib import periodic
        from mmooc.lists.signals import post_relayed
        from mmooc.mailer.signals import complained, paused

        pairs: list[tuple[Signal, Callable[..., None]]] = [
            (learner_confirmed, r.on_confirmed), (learner_left, r.on_left), (learner_erased, r.on_erased),
            (groups_formed, r.on_groups_formed), (member_placed, r.on_member_placed),
            (post_relayed, r.on_post_relayed), (email_sent, r.on_email_sent), (complained, r.on_complained),
            (paused, r.on_paused), (checkin_recorded, r.on_checkin_recorded),
        ]
        for signal, receiver in pairs:
            signal.connect(receiver, dispatch_uid=f"mmooc.hooks.{receiver.__name__}")

        # Queued deliveries are sent at every look of the periodic loop (and at once when woken).
        periodic.register(JOB, deliver_due, every=periodic.INTERVAL)
        periodic.register("hooks.prune", prune, every=PRUNE_EVERY)
