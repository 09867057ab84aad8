"""The cases every door of a group's mail passes (LMTP, each provider's inbound webhook), written once.

A door's tests subclass `PostDoorCases` in a class named `Test…` and fill in `deliver`: one
message through that door to one group address, answered with the door's code. Both doors
end in the same relay; what differs is how they answer a message the relay refuses: LMTP
with an SMTP code (the sender's server then bounces it), a webhook with 2xx and a notice
to the sender. Every refusal checks that nothing was relayed. A member's post over the size
limit (up to the ceiling) and a muted member's post are held the same way by every door, and
their sender is told once.
"""

from __future__ import annotations

import pytest

from mmooc.groups.models import Membership, StudyGroup
from mmooc.lists import relay
from mmooc.lists.models import Post, Refusal
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer.models import Delivery, Message


def relayed() -> tuple[int, int, int]:
    """Posts stored, relayed messages and their copies."""
    return (Post.objects.count(), Message.objects.filter(tag="relay").count(),
            Delivery.objects.filter(message__tag="relay").count())


class PostDoorCases:
    taken = 250  # a message taken: relayed, held, or refused with a notice
    too_big = 552  # a message over the ceiling for held posts
    defective = 501  # a message that cannot be read
    no_message_id = 550
    try_again = 451  # the relay cannot take it now
    notices_refusals = False  # whether a refused message is answered with a notice to its sender

    def deliver(self, raw: bytes, sender: str, recipient: str) -> int:
        """One message through the door; the door's answer."""
        raise NotImplementedError

    def test_a_members_post_reaches_every_other_member(self, group: StudyGroup) -> None:
        assert self.deliver(raw_post(to=group.address), "alice@example.org", group.address) == self.taken
        post = Post.objects.get()
        assert sorted(post.outbox_message.deliveries.values_list("recipient", flat=True)) == [
            "bob@example.org", "carol@example.org"]

    def test_a_retried_delivery_is_relayed_once(self, group: StudyGroup) -> None:
        raw = raw_post(to=group.address, message_id="<retry@mail.example.org>")
        assert self.deliver(raw, "alice@example.org", group.address) == self.taken
        after_first = relayed()
        assert self.deliver(raw, "alice@example.org", group.address) == self.taken
        assert relayed() == after_first

    def test_a_non_member_is_told_and_nothing_is_relayed(self, group: StudyGroup) -> None:
        raw = raw_post(sender="mallory@example.org", to=group.address)
        assert self.deliver(raw, "mallory@example.org", group.address) == self.taken
        assert relayed() == (1, 0, 0) and Post.objects.get().held  # held until they show they are a member
        assert Refusal.objects.get().reason == Refusal.NON_MEMBER
        assert Message.objects.get(tag="list-notice").deliveries.get().recipient == "mallory@example.org"

    @pytest.mark.parametrize("sender, headers, reason", [
        ("", {}, Refusal.BOUNCE),
        ("alice@example.org", {"Auto-Submitted": "auto-replied"}, Refusal.AUTO_REPLY),
        ("alice@example.org", {"X-Loop": "py-3-group-1@lists.course.example.org"}, Refusal.LOOP),
    ])
    def test_bounces_auto_replies_and_loops_are_dropped_without_a_word(self, group: StudyGroup, sender: str,
                                                                       headers: dict[str, str], reason: str) -> None:
        assert self.deliver(raw_post(to=group.address, headers=headers), sender, group.address) == self.taken
        assert Refusal.objects.get().reason == reason
        assert relayed() == (0, 0, 0) and not Message.objects.exists()

    def test_a_defective_post_is_refused_and_nothing_is_relayed(self, group: StudyGroup) -> None:
        raw = raw_post(to=group.address, headers={"Content-Type": 'multipart/mixed; boundary="b"'})
        assert self.deliver(raw, "alice@example.org", group.address) == self.defective
        assert relayed() == (0, 0, 0)
        assert Refusal.objects.get().reason == Refusal.DEFECTIVE
        assert Message.objects.filter(tag="list-notice").exists() == self.notices_refusals

    def test_a_post_without_message_id_is_refused_and_nothing_is_relayed(self, group: StudyGroup) -> None:
        raw = raw_post(to=group.address, message_id="")
        assert self.deliver(raw, "alice@example.org", group.address) == self.no_message_id
        assert relayed() == (0, 0, 0)
        assert Refusal.objects.get().reason == Refusal.NO_MESSAGE_ID

    def test_a_relay_that_cannot_take_it_now_asks_for_it_again(self, group: StudyGroup,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("database went away")

        monkeypatch.setattr(relay, "store_and_relay", broken)
        assert self.deliver(raw_post(to=group.address), "alice@example.org", group.address) == self.try_again
        assert relayed() == (0, 0, 0)

    @pytest.fixture
    def small_limits(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Posts over 2,000 bytes are held as too big, over 4,000 refused."""
        monkeypatch.setattr(relay, "MAX_POST_BYTES", 2000)
        monkeypatch.setattr(relay, "MAX_HELD_POST_BYTES", 4000)

    def held_notices(self) -> list[str]:
        return [d.recipient for d in Delivery.objects.filter(message__tag="list-notice")]

    @pytest.mark.usefixtures("small_limits")
    def test_a_members_post_over_the_limit_is_held_and_its_sender_told(self, group: StudyGroup) -> None:
        raw = raw_post(to=group.address, body="x" * 3000)
        assert self.deliver(raw, "alice@example.org", group.address) == self.taken
        post = Post.objects.get()
        assert (post.held, post.held_reason, post.author.email) == (True, relay.TOO_BIG, "alice@example.org")
        assert post.size == len(bytes(post.raw)) > relay.MAX_POST_BYTES
        assert relayed() == (1, 0, 0) and not Refusal.objects.exists()
        assert self.held_notices() == ["alice@example.org"]

    @pytest.mark.usefixtures("small_limits")
    def test_a_post_over_the_ceiling_is_refused_and_nothing_is_kept(self, group: StudyGroup) -> None:
        raw = raw_post(to=group.address, body="x" * 5000)
        assert self.deliver(raw, "alice@example.org", group.address) == self.too_big
        assert relayed() == (0, 0, 0) and Refusal.objects.get().reason == Refusal.TOO_BIG
        assert bool(self.held_notices()) == self.notices_refusals

    def test_a_muted_members_post_is_held_and_they_stay_muted(self, group: StudyGroup) -> None:
        Membership.objects.filter(learner__email="alice@example.org").update(muted=True)
        assert self.deliver(raw_post(to=group.address), "alice@example.org", group.address) == self.taken
        post = Post.objects.get()
        assert (post.held, post.held_reason) == (True, relay.MUTED_MEMBER)
        assert relayed() == (1, 0, 0) and not Refusal.objects.exists()
        assert self.held_notices() == ["alice@example.org"]
        assert Membership.objects.get(learner__email="alice@example.org").muted

    def test_a_muted_members_post_without_message_id_is_refused(self, group: StudyGroup) -> None:
        Membership.objects.filter(learner__email="alice@example.org").update(muted=True)
        raw = raw_post(to=group.address, message_id="")
        assert self.deliver(raw, "alice@example.org", group.address) == self.no_message_id
        assert relayed() == (0, 0, 0) and Refusal.objects.get().reason == Refusal.NO_MESSAGE_ID

    @pytest.mark.usefixtures("small_limits")
    def test_a_held_posts_sender_is_told_once_a_day(self, group: StudyGroup) -> None:
        Membership.objects.filter(learner__email="alice@example.org").update(muted=True)
        for body in ("first", "x" * 3000, "third"):
            assert self.deliver(raw_post(to=group.address, body=body), "alice@example.org",
                                group.address) == self.taken
        assert Post.objects.filter(held=True).count() == 3
        assert self.held_notices() == ["alice@example.org"]

    @pytest.mark.usefixtures("small_limits")
    @pytest.mark.parametrize("headers", [{"List-Id": "Python help <help.python.org>"},
                                         {"Auto-Submitted": "auto-replied"}])
    def test_list_mail_and_automatic_replies_get_no_held_notice(self, group: StudyGroup,
                                                                headers: dict[str, str]) -> None:
        Membership.objects.filter(learner__email="alice@example.org").update(muted=True)
        raw = raw_post(to=group.address, body="x" * 3000, headers=headers)
        assert self.deliver(raw, "alice@example.org", group.address) == self.taken
        assert not self.held_notices() and not Message.objects.exists()
        if "Auto-Submitted" in headers:  # an automatic reply is dropped, held or not
            assert relayed() == (0, 0, 0) and Refusal.objects.get().reason == Refusal.AUTO_REPLY
        else:
            assert Post.objects.get().held_reason == relay.MUTED_MEMBER
