"""The lists app's side of the group staff pages: posts per group and the archive link."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncWeek
from django.urls import reverse

from mmooc.groups.models import StudyGroup
from mmooc.learners.models import Learner
from mmooc.lists.links import archive_url
from mmooc.lists.models import Post


def _count(qs: QuerySet[Post]) -> Subquery:
    return Subquery(qs.order_by().values("group").annotate(n=Count("id")).values("n")[:1],
                    output_field=IntegerField())


class PostActivity:
    def annotate(self, groups: QuerySet[StudyGroup], recent_since: datetime) -> QuerySet[StudyGroup]:
        posts = Post.objects.filter(group=OuterRef("pk"), held=False)
        return groups.annotate(posts_total=Coalesce(_count(posts), 0),
                               posts_recent=Coalesce(_count(posts.filter(received_at__gte=recent_since)), 0),
                               last_post=Subquery(posts.order_by("-received_at").values("received_at")[:1]))

    def posts_per_week(self, groups: list[StudyGroup], weeks: list[date]) -> dict[tuple[int, date], int]:
        since = datetime.combine(weeks[0], time(0), tzinfo=UTC)
        rows = (Post.objects.filter(group__in=groups, held=False, received_at__gte=since)
                .annotate(week=TruncWeek("received_at")).values_list("group", "week")
                .annotate(n=Count("id")).order_by())
        # SQLite gives the week as a date, PostgreSQL as a timestamp.
        return {(g, w.date() if isinstance(w, datetime) else w): n for g, w, n in rows}

    def archive_url(self, group: StudyGroup) -> str:
        return reverse("lists:group_archive", kwargs={"public_id": group.public_id})


def archive_section(learner: Learner, section: dict[str, Any]) -> None:
    """The learner page's link to their group's archive, signed for them."""
    if "group" in section:
        section["archive_url"] = archive_url(section["group"], learner)
