"""Links to a group's archive.

    archive_url(group, learner)  a member's own signed link, for their learner page and digests
    group_url(group)             the group's page: the archive for staff, a pointer for others;
                                 the List-Archive of every relayed copy

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
from django.urls import reverse

from mmooc.groups.models import StudyGroup
from mmooc.learners.links import Identified
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
    return settings.BASE_URL + reverse("lists:archive", args=[archive_token(group, learner)])


def group_url(group: StudyGroup) -> str:
    return settings.BASE_URL + _group_path(public_id(group))


@lru_cache(maxsize=4096)
def _group_path(group_id: uuid.UUID) -> str:
    # Every relayed copy names it (List-Archive); reversing costs more than the rest of the headers.
    return reverse("lists:group_archive", kwargs={"public_id": group_id})


def list_info(group: StudyGroup) -> ListInfo:
    """The group as its copies name it; List-Help is the page that mails a member the link to
    their own page (leave, daily digest), List-Owner the course's organizers."""
    owner = group.cohort.course.organizer_email
    return ListInfo(name=group.name, address=group.address.lower(), archive_url=group_url(group),
                    help_url=settings.BASE_URL + _help_path(), owner=owner)


@lru_cache(maxsize=1)
def _help_path() -> str:
    return reverse("learners:send_link")
