"""Which addresses of the list domain take mail, asked before a message is accepted.

    known("py-3-group-12@lists.course.example.org")  -> the StudyGroup
    known("bounces+1f-0123456789abcdef@lists…")      -> "bounces"      (the mailer's return path)
    known("unsubscribe+1f-0123456789abcdef@lists…")  -> "unsubscribe"  (List-Unsubscribe mailto)
    known("checkin+py-3@lists…")                      -> "checkin"      (a cohort's check-in address)
    known("nobody@lists.course.example.org")         -> None

The LMTP server asks at RCPT; Postfix asks through the socketmap (mmooc.lists.socketmap)
before it accepts a message at all. One answer for both, read from the database at the
moment of asking: a group formed a second ago is deliverable at once. At most one
indexed query; addresses of other domains and the mailer's addresses need none.
"""

from __future__ import annotations

from django.conf import settings

from mmooc.checkins import intake
from mmooc.groups.models import StudyGroup
from mmooc.lists import relay
from mmooc.mailer import verp


def known(address: str) -> StudyGroup | str | None:
    address = address.strip().strip("<>")
    local, _, domain = address.rpartition("@")
    if (not local or len(address) > relay.MAX_ADDRESS_LENGTH or domain.lower() != settings.LIST_DOMAIN
            or not address.isprintable()):  # control characters (NUL) name nothing, and PostgreSQL refuses them
        return None
    if intake.is_checkin_address(address):
        return "checkin" if intake.cohort_for_address(address) else None
    return verp.token_prefix(address) or relay.find_group(address)
