"""A learner's life: every change of their state or of their choices, one function each.

The states are pending → confirmed → left (and back, by joining again) and erased, the end.
Beside the state run the learner's choices: course emails on or off (`unsubscribed_at`),
and a study group wanted or not (`wants_group`; being *in* a group is the groups app's
record). These functions are the only code that changes them. Each one

- is one transaction, and idempotent: asked again, it changes nothing and returns False;
- refuses what the learner's state does not allow with `Refused`, whose message is meant
  for the learner, and changes nothing then;
- records itself in the learner's history (`LearnerEvent`), which staff see on the
  learner's page and the learner on theirs;
- tells the apps above through one signal (learners.signals), which groups (memberships),
  emails (queued copies) and lists (archived posts) act on.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mmooc.learners.models import Learner, LearnerAlias, LearnerEvent, Unsubscribe, email_key
from mmooc.learners.signals import (
    learner_confirmed,
    learner_erased,
    learner_left,
    learner_left_group,
    learner_unsubscribed,
    learner_wants_group,
    learner_zone_changed,
)
from mmooc.learners.validation import country_for_zone
from mmooc.lib import clock
from mmooc.operations import counters

# Names shorter than this are not looked for in the audit log at erasure (too many false hits).
MIN_NAME_TO_FORGET = 4
# How a change came about, as the history shows it.
LINK, PAGE, STAFF, IMPORT, GROUP_CHECK = "link", "page", "staff", "import", "group check"


class Refused(Exception):
    """A change the learner's state does not allow now; the message is meant for the learner."""


def record(learner: Learner, kind: str, via: str = "", note: str = "", at: datetime | None = None) -> None:
    """Add one line to the learner's history (never their address or name)."""
    LearnerEvent.objects.create(learner_id=learner.pk, kind=kind, via=via[:32], note=note[:200],
                                created_at=at or timezone.now())


def history(learner: Learner) -> list[LearnerEvent]:
    return list(LearnerEvent.objects.filter(learner_id=learner.pk).order_by("created_at", "id"))


def _locked(learner: Learner) -> Learner:
    return Learner.objects.select_for_update().get(pk=learner.pk)


# The cohort ------------------------------------------------------------------------------


def confirm(learner: Learner, now: datetime | None = None, *, rejoin: bool = False, via: str = LINK) -> bool:
    """Confirm a signup; True when something changed.

    Someone who left the cohort, or stopped its course emails, comes back only when they ask
    to (`rejoin`): an old confirmation link opened again raises Refused and changes nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(learner)
        if current.state == Learner.ERASED:
            raise Refused(_("This learner's data was deleted."))
        reason = rejoin_reason(current)
        if current.state == Learner.CONFIRMED and not reason:
            return False
        if reason and not rejoin:
            raise Refused(reason)
        joining = current.state != Learner.CONFIRMED
        current.state = Learner.CONFIRMED
        current.confirmed_at = now if joining else current.confirmed_at
        # Pressing "Join again" is the newest choice: it outweighs an earlier stop or complaint.
        current.left_at = current.unsubscribed_at = current.complained_at = None
        current.save(update_fields=["state", "confirmed_at", "left_at", "unsubscribed_at", "complained_at"])
        record(current, LearnerEvent.REJOINED if reason else LearnerEvent.CONFIRMED, via, at=now)
        if joining:
            counters.add("confirmations")
            transaction.on_commit(lambda: announce_confirmed(current))
    _copy(current, learner, "state", "confirmed_at", "left_at", "unsubscribed_at", "complained_at")
    return True


def rejoin_reason(learner: Learner) -> str:
    """Why confirming would bring the learner back rather than confirm a signup ("" if not)."""
    if learner.state == Learner.LEFT and learner.left_at is not None:
        return _("You left this cohort on %(date)s.") % {
            "date": clock.plain_day(clock.in_zone(learner.left_at, learner.timezone))}
    if learner.state == Learner.LEFT:
        return _("You left this cohort.")
    if learner.complained_at is not None:
        return _("Our mail to you was marked as spam on %(date)s.") % {"date": clock.plain_day(learner.complained_at)}
    if learner.unsubscribed_at is not None:
        return _("You stopped the course emails of this cohort on %(date)s.") % {
            "date": clock.plain_day(learner.unsubscribed_at)}
    return ""


def announce_confirmed(learner: Learner) -> None:
    """Tell the apps above that a learner is in: course emails first (the welcome is queued
    before anything else), then, if they want one, a study group may take them."""
    learner_confirmed.send(sender=Learner, learner=learner)
    if learner.wants_group:
        learner_wants_group.send(sender=Learner, learner=learner)


def leave(learner: Learner, now: datetime | None = None, via: str = PAGE) -> bool:
    """The learner leaves the cohort: no more course or group mail. True when they were in."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(learner)
        if current.state in (Learner.LEFT, Learner.ERASED):
            return False
        current.state = Learner.LEFT
        current.left_at = now
        current.save(update_fields=["state", "left_at"])
        record(current, LearnerEvent.LEFT, via, at=now)
        transaction.on_commit(lambda: learner_left.send(sender=Learner, learner=current))
    _copy(current, learner, "state", "left_at")
    return True


def erase(learner: Learner, now: datetime | None = None, via: str = PAGE) -> bool:
    """Forget the person: only an anonymous row (and its history) stays, for the counts."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(learner)
        if current.state == Learner.ERASED:
            return False
        placeholder = f"erased-{current.public_id.hex}@erased.invalid"
        name, address = current.name, current.email
        current.email = current.email_key = placeholder
        current.name = ""
        current.answers = {}
        current.state = Learner.ERASED
        current.left_at = current.left_at or now
        current.save(update_fields=["email", "email_key", "name", "answers", "state", "left_at"])
        current.unsubscribes.update(learner=None, email_key="")
        others = tuple(a.address for a in LearnerAlias.objects.filter(learner_id=current.pk))
        LearnerAlias.objects.filter(learner_id=current.pk).delete()
        for each in (address, *others):
            _forget_in_outbox(current, each, placeholder)
        _forget_elsewhere(address, others, name)
        learner_erased.send(sender=Learner, learner=current, name=name, address=address, aliases=others)
        record(current, LearnerEvent.ERASED, via, at=now)
        transaction.on_commit(lambda: learner_left.send(sender=Learner, learner=current))
    _copy(current, learner, "email", "email_key", "name", "answers", "state", "left_at")
    return True


def _forget_in_outbox(learner: Learner, address: str, placeholder: str) -> None:
    """The outbox keeps who was mailed what; after erasure it no longer says to whom."""
    from mmooc.mailer.models import Delivery, Event

    Delivery.objects.filter(ref=str(learner.public_id)).update(recipient=placeholder, context={}, stored=None)
    Event.objects.filter(recipient__iexact=address).update(recipient=placeholder, raw={}, description="")


def _forget_elsewhere(address: str, others: tuple[str, ...], name: str) -> None:
    """The suppression list keeps only a keyed hash of the addresses (still honoured: "never
    mail me again" stands), and staff actions in the audit log no longer name the person."""
    from mmooc.audit.log import forget
    from mmooc.mailer import suppression

    suppression.forget((address, *others))
    # Another signup with the same address (another cohort) still names it; the audit log
    # then keeps it too, as the learner tables do.
    if not Learner.objects.filter(email_key=email_key(address)).exclude(state=Learner.ERASED).exists():
        forget((address, *others, *([name] if len(name.strip()) >= MIN_NAME_TO_FORGET else [])))


# Course emails --------------------------------------------------------------------------


def unsubscribe(learner: Learner, scope: str, source: str, now: datetime | None = None) -> Unsubscribe:
    """Record and carry out one unsubscribe choice; repeating it is harmless."""
    now = now or timezone.now()
    with transaction.atomic():
        record_ = Unsubscribe.objects.create(learner=learner, email_key=learner.email_key, scope=scope,
                                             source=source, created_at=now)
        if scope == Unsubscribe.GROUP:
            leave_group(learner, via=f"unsubscribe ({source})")
        elif scope == Unsubscribe.COHORT:
            stop_course_emails(learner, f"unsubscribe ({source})", now)
        elif scope == Unsubscribe.SITE:
            suppress_address(learner.email, source)
            for alias in LearnerAlias.objects.filter(learner_id=learner.pk):
                suppress_address(alias.address, source)  # its held-post notices stop too
            for each in Learner.objects.filter(email_key=learner.email_key).exclude(state=Learner.ERASED):
                stop_course_emails(each, f"stop all mail ({source})", now)
    return record_


def stop_course_emails(learner: Learner, via: str, now: datetime | None = None,
                       kind: str = LearnerEvent.UNSUBSCRIBED) -> bool:
    """No more course emails of this cohort; copies already queued are withdrawn (the signal)."""
    now = now or timezone.now()
    changed = bool(Learner.objects.filter(pk=learner.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now))
    if changed:
        learner.unsubscribed_at = now
        record(learner, kind, via, at=now)
    # Sent every time: a copy queued meanwhile (by a late addition) must not leave either.
    learner_unsubscribed.send(sender=Learner, learner=learner)
    return changed


def complain(address: str, now: datetime | None = None) -> int:
    """The address marked our mail as spam: flag each of its signups and stop their course mail."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        for learner in Learner.objects.filter(email_key=email_key(address)).exclude(state=Learner.ERASED):
            if learner.complained_at is None:
                Learner.objects.filter(pk=learner.pk).update(complained_at=now)
                learner.complained_at = now
                count += 1
            stop_course_emails(learner, "mail provider", now, kind=LearnerEvent.COMPLAINED)
    return count


def suppress_address(address: str, source: str) -> None:
    """Add the address to the mailer's suppression list: no mail at all from this site."""
    from mmooc.mailer.models import Suppression
    from mmooc.mailer.suppression import suppress

    suppress(email_key(address), Suppression.UNSUBSCRIBE, f"Unsubscribed from all mail ({source})")


# The study group ------------------------------------------------------------------------


def leave_group(learner: Learner, via: str = PAGE) -> None:
    """The learner leaves their study group and studies on their own from now on: grouping
    places them again only once they ask for a group on their page (`choose_group`)."""
    choose_group(learner, False, force=True, via=via)


def choose_group(learner: Learner, wants: bool, *, force: bool = False, via: str = PAGE) -> bool:
    """A study group, or on my own; True when the choice changed.

    On my own ends the group membership at once (the groups app receives learner_left_group
    inside this transaction; `force` sends it even when the choice was already made, for a
    learner whom staff put in a group). Asking for a group lets a cohort that already has
    groups place the learner (learner_wants_group, once committed); someone who left the
    cohort must join again first.
    """
    with transaction.atomic():
        current = _locked(learner)
        if wants and current.state in (Learner.LEFT, Learner.ERASED):
            raise Refused(_("You have left this cohort: join it again first, then ask for a group."))
        changed = current.wants_group != wants
        if changed:
            fields = {"wants_group": wants}
            if wants:
                fields["group_confirmed"] = True  # an explicit ask, as a yes to the group check
            Learner.objects.filter(pk=learner.pk).update(**fields)
            for name, value in fields.items():
                setattr(learner, name, value)
            kind = LearnerEvent.GROUP_WANTED if wants else (
                LearnerEvent.GROUP_LEFT if via.startswith("unsubscribe") else LearnerEvent.SOLO)
            record(current, kind, via)
        if not wants and (changed or force):
            learner_left_group.send(sender=Learner, learner=learner)
        if wants and changed and current.state == Learner.CONFIRMED:
            transaction.on_commit(lambda: learner_wants_group.send(sender=Learner, learner=learner))
    return changed


# Other addresses ("this is also me") -------------------------------------------------------


def alias_refusal(learner: Learner, address: str) -> str:
    """Why `address` cannot become one of the learner's other addresses ("" when it can)."""
    key = email_key(address)
    if learner.state in (Learner.LEFT, Learner.ERASED):
        return _("You have left this cohort: join it again first.")
    if key == learner.email_key:
        return _("This is already the address you signed up with.")
    if Learner.objects.filter(cohort_id=learner.cohort_id, email_key=key).exclude(state=Learner.ERASED).exists():
        return _("This address belongs to another learner of this course.")
    taken = LearnerAlias.objects.filter(cohort_id=learner.cohort_id, address_key=key).exclude(learner_id=learner.pk)
    if taken.exists():
        return _("This address belongs to another learner of this course.")
    return ""


def add_alias(learner: Learner, address: str, via: str = LINK, now: datetime | None = None) -> LearnerAlias:
    """Record `address` as another address of the learner (idempotent: the same alias again)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(learner)
        reason = alias_refusal(current, address)
        if reason:
            raise Refused(reason)
        alias, created = LearnerAlias.objects.get_or_create(
            cohort_id=current.cohort_id, address_key=email_key(address),
            defaults={"learner": current, "address": address.strip(), "confirmed_at": now, "created": now})
        if created:
            record(current, LearnerEvent.ALIAS_ADDED, via, at=now)
            counters.add("aliases_added")
    return alias


def remove_alias(learner: Learner, alias_id: uuid.UUID | str, via: str = PAGE) -> bool:
    """Forget one of the learner's other addresses; True when it was theirs and is gone."""
    with transaction.atomic():
        current = _locked(learner)
        deleted, _ = LearnerAlias.objects.filter(learner_id=current.pk, public_id=alias_id).delete()
        if deleted:
            record(current, LearnerEvent.ALIAS_REMOVED, via)
    return bool(deleted)


def aliases(learner: Learner) -> list[LearnerAlias]:
    return list(LearnerAlias.objects.confirmed().filter(learner_id=learner.pk))


# The learner's clock -----------------------------------------------------------------------


def change_timezone(learner: Learner, zone_name: str, via: str = PAGE) -> bool:
    """A new time zone (already validated); True when it changed. In the same transaction, the
    course-email copies queued for the learner in their local time move to the new clock (the
    emails app receives learner_zone_changed)."""
    with transaction.atomic():
        current = _locked(learner)
        if current.timezone == zone_name:
            return False
        old = current.timezone
        Learner.objects.filter(pk=learner.pk).update(timezone=zone_name, country=country_for_zone(zone_name))
        learner.timezone, learner.country = zone_name, country_for_zone(zone_name)
        record(current, LearnerEvent.ZONE_CHANGED, via, note=f"{old} → {zone_name}")
        learner_zone_changed.send(sender=Learner, learner=learner)
    return True


def change_language(learner: Learner, language: str, via: str = PAGE) -> bool:
    """A new language (already validated) for the learner's pages and mail; True when it changed.
    Mail already queued keeps the language it was written in."""
    with transaction.atomic():
        current = _locked(learner)
        if current.language == language:
            return False
        old = current.language
        Learner.objects.filter(pk=learner.pk).update(language=language)
        learner.language = language
        record(current, LearnerEvent.LANGUAGE_CHANGED, via, note=f"{old} → {language}")
    return True


def _copy(source: Learner, target: Learner, *fields: str) -> None:
    """Let the caller's instance see what was saved."""
    if target is not source:
        for name in fields:
            setattr(target, name, getattr(source, name))
