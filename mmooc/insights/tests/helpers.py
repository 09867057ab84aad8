"""Posts and groups for the insights tests, written straight into the tables."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from django.utils import timezone

from mmooc import testing
from mmooc.groups.membership import refit
from mmooc.groups.models import StudyGroup
from mmooc.learners.models import Learner
from mmooc.lists.models import Post

_ids = itertools.count(1)


def group_of(cohort, number, zones, language="en", **fields) -> tuple[StudyGroup, list[Learner]]:
    group = testing.make_group(cohort, number, language=language, capacity=8, **fields)
    learners = []
    for zone in zones:
        n = next(_ids)
        learner = testing.make_learner(cohort, f"member{n}@example.org", name=f"Member{n} Surname{n}",
                                       timezone=zone, language=language)
        testing.join(group, learner)
        learners.append(learner)
    refit(group)
    return group, learners


def post(group, author, *, reply_to: Post | None = None, when: datetime | None = None, refs: str = "") -> Post:
    n = next(_ids)
    return Post.objects.create(group=group, author=author, author_name=author.name if author else "",
                               message_id=f"<p{n}@mail.example.org>",
                               in_reply_to=reply_to.message_id if reply_to else "", references=refs,
                               thread_id=reply_to.thread_id if reply_to else f"<p{n}@mail.example.org>",
                               subject="Week 3", text="Body text", raw=b"", received_at=when or timezone.now()
                               - timedelta(days=1))
