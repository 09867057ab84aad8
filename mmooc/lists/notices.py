"""Automatic replies to the sender of a group post (refused, held for staff, waiting for a
claim): never to an address of ours (MAIL_RULES 55), at most one a day per address, all kinds
together (one Notice row per address and day).

    answerable(to) -> str | None                       the address to answer, or None
    send_once_a_day(group, to, subject=…, body=…, headers=…, context=None, ref="", now=None) -> bool
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup
from mmooc.learners.models import email_key
from mmooc.lists.models import Notice

log = logging.getLogger("mmooc.lists")


def answerable(to: str) -> str | None:
    """The sender's address as it may be answered, or None: no address, or one of our lists'."""
    to = to.strip().strip("<>")
    if "@" not in to or to.lower().endswith("@" + settings.LIST_DOMAIN.lower()):
        return None
    return to


def send_once_a_day(group: StudyGroup, to: str, *, subject: str, body: str, headers: Mapping[str, str],
                    context: Mapping[str, str] | None = None, ref: str = "", now: datetime | None = None) -> bool:
    """Queue the notice unless `to` was already told something today; True if queued."""
    from mmooc.mailer import outbox

    try:
        with transaction.atomic():
            Notice.objects.create(address=email_key(to)[:254], day=(now or timezone.now()).date())
            outbox.send(to=to, subject=subject, body=body, context=context, ref=ref,
                        scope=Cohort.scope_for(group.cohort_id), tag="list-notice", headers=dict(headers))
    except IntegrityError:
        return False  # already told today
    except outbox.OutboxError as exc:
        log.info("lists: no notice to %s: %s", to, exc)
        return False
    return True
