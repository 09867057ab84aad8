from django.apps import AppConfig

# Digests go out once a day; looking every hour sends each soon after midnight UTC.
DIGEST_EVERY = 3600


class ListsConfig(AppConfig):
    name = "mmooc.lists"
    label = "lists"
    verbose_name = "Group lists"

    def ready(self) -> None:
        from anymail.signals import inbound

        from mmooc.groups import activity
        from mmooc.learners import sections
        from mmooc.learners.links import is_public_id
        from mmooc.learners.signals import learner_erased
        from mmooc.lib import periodic
        from mmooc.lib.mailrender import UNSUBSCRIBE_VAR
        from mmooc.lists.activity import PostActivity, archive_section
        from mmooc.lists.aliases import expire_held
        from mmooc.lists.digest import send_digests
        from mmooc.lists.moderation import held_count, queue_url, send_held_notes
        from mmooc.lists.receivers import forget_erased_author, handle_inbound
        from mmooc.lists.relay import LEAVE_LINKS, leave_links
        from mmooc.mailer import refvalues
        from mmooc.operations import metrics

        inbound.connect(handle_inbound, dispatch_uid="mmooc.lists.inbound")
        refvalues.register(LEAVE_LINKS, names=frozenset({UNSUBSCRIBE_VAR}), accepts=is_public_id, maker=leave_links)
        learner_erased.connect(forget_erased_author, dispatch_uid="mmooc.lists.forget_erased_author")
        periodic.register("lists.digest", send_digests, every=DIGEST_EVERY)
        # Posts held from unknown addresses go once nobody has claimed them for a week.
        periodic.register("lists.held_expiry", expire_held, every=DIGEST_EVERY)
        # Each staff member is told once a day of the posts held in their groups.
        periodic.register("lists.held_note", send_held_notes, every=DIGEST_EVERY)
        activity.register_page("Moderation queue", queue_url, count=held_count)
        activity.register(PostActivity())
        sections.add_group_section(archive_section)
        metrics.counter("posts", "Group posts stored, by outcome (relayed to the members, or held for review).",
                        label="outcome")
        metrics.counter("posts_refused", "Messages to group addresses not relayed, by reason.", label="reason")
