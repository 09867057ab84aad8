"""Links to a group's archive.

    archive_url(group, learner)  a member's own signed link, for their learner page and digests
    group_url(group)             the group's page: the archive for staff, for others a form that
                                 mails a member their own link; the List-Archive of every copy
    send_archive_link(group, a)  that email, to the member with address `a`

A member's link holds the group's and the learner's public ids, signed with a salt of its
own; it opens the archive only while the learner is an active member of that group.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from mmooc.groups.models import StudyGroup
from mmooc.learners.links import Identified
from mmooc.lib import mailpaths
from mmooc.lib.languages import content_language, speaking
from mmooc.lists.headers import ListInfo

MAX_AGE = timedelta(days=400)
_SALT = "mmooc.lists.archive"
_NOT_VALID = "This link is not valid or has expired."


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT, sep=".")


def public_id(group: StudyGroup) -> uuid.UUID:
    """The group's public id, given one if it was created without."""
    if group.public_id is None:
        StudyGroup.objects.filter(pk=group.pk, public_id__isnull=True).update(public_id=uuid.uuid4())
        group.refresh_from_db(fields=["public_id"])
    assert group.public_id is not None
    return group.public_id


def archive_token(group: StudyGroup, learner: Identified) -> str:
    return _signer().sign(f"{public_id(group).hex}-{learner.public_id.hex}")


def read_archive_token(token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(group public id, learner public id), or Http404 for a tampered or expired link."""
    try:
        value = _signer().unsign(token, max_age=MAX_AGE)
        group_hex, learner_hex = value.split("-")
        return uuid.UUID(hex=group_hex), uuid.UUID(hex=learner_hex)
    except (signing.BadSignature, ValueError):
        raise Http404(_NOT_VALID) from None


def archive_url(group: StudyGroup, learner: Identified) -> str:
    """Absolute and signed: the member's way into their group's archive."""
    return settings.BASE_URL + mailpaths.path("lists:archive", archive_token(group, learner))


def group_url(group: StudyGroup) -> str:
    return settings.BASE_URL + _group_path(public_id(group))


@lru_cache(maxsize=4096)
def _group_path(group_id: uuid.UUID) -> str:
    # Every relayed copy names it (List-Archive). Not reverse(): `mmooc lmtp` and `mmooc worker`
    # would import the whole URL configuration for it (see mmooc.lib.mailpaths).
    return mailpaths.path("lists:group_archive", group_id)


def list_info(group: StudyGroup) -> ListInfo:
    """The group as its copies name it; List-Help is the page that mails a member the link to
    their own page (leave, daily digest), List-Owner the course's organizers."""
    owner = group.cohort.course.organizer_email
    return ListInfo(name=group.name, address=group.address.lower(), archive_url=group_url(group),
                    help_url=settings.BASE_URL + _help_path(), owner=owner)


@lru_cache(maxsize=1)
def _help_path() -> str:
    return mailpaths.path("learners:send_link")


def link_texts() -> tuple[str, str]:
    """The email with a member's own archive link, subject and body, in the active language."""
    return (_("Your link to the {{ group_name }} archive"),
            _("""Hello{{ greeting }},

Here is your link to the archive of your study group {{ group_name }}: every post, in \
conversations, with a search box.

[Open the archive]({{ archive_url }})

The link is yours: please do not share it. If you did not ask for it, ignore this email.
"""))


with translation.override(None):
    LINK_SUBJECT, LINK_BODY = link_texts()


def send_archive_link(group: StudyGroup, address: str) -> bool:
    """Mail the group's member with that address their own archive link; False (and nothing
    sent) when the address is no active member's. Callers answer the same either way."""
    from mmooc.courses.models import Cohort
    from mmooc.groups.models import Membership
    from mmooc.learners.models import Learner, email_key
    from mmooc.mailer import outbox

    membership = (Membership.objects.active().filter(group=group, learner__email_key=email_key(address))
                  .exclude(learner__state__in=(Learner.LEFT, Learner.ERASED)).select_related("learner").first())
    if membership is None:
        return False
    learner = membership.learner
    with speaking(learner.language):
        subject, body = link_texts()
        context = {"greeting": f" {learner.first_name}" if learner.first_name else "", "group_name": group.name,
                   "archive_url": archive_url(group, learner)}
        outbox.send(to=learner.email, subject=subject, body=body, context=context, headers=content_language(),
                    scope=Cohort.scope_for(learner.cohort_id), tag="archive-link", ref=str(learner.public_id))
    return True
