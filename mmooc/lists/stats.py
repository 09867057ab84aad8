"""Per-group activity for staff: who is in each group, how much they write, which groups are quiet."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.groups.models import StudyGroup, active_through
from mmooc.lists.models import Post

QUIET_DAYS = 7
WEEKS = 8


def group_stats(cohort: Cohort, *, quiet_days: int = QUIET_DAYS, weeks: int = WEEKS,
                now: datetime | None = None) -> list[dict[str, Any]]:
    """One dict per group of the cohort, in group number order:

        group           the StudyGroup
        members         active members now
        posts           posts relayed since the group began (held posts not counted)
        weekly          posts in each of the last `weeks` 7-day windows ending now, oldest first
        posts_per_week  average posts per week since the group was created (at least one week)
        last_post       when the last relayed post arrived, or None
        quiet           True when nothing was posted for `quiet_days` days (counted from the
                        group's creation when it never had a post)

    Two queries whatever the number of groups.
    """
    now = now or timezone.now()
    groups = list(StudyGroup.objects.filter(cohort=cohort).order_by("number").annotate(
        members=Count("memberships", filter=active_through("memberships"))))
    windows = [(now - timedelta(weeks=weeks - i), now - timedelta(weeks=weeks - i - 1)) for i in range(weeks)]
    buckets = {f"w{i}": Count("id", filter=Q(received_at__gte=a, received_at__lt=b))
               for i, (a, b) in enumerate(windows)}
    rows = {row["group"]: row for row in Post.objects.filter(group__cohort=cohort, held=False)
            .values("group").annotate(total=Count("id"), last=Max("received_at"), **buckets).order_by()}
    return [_stats(g, rows.get(g.pk), weeks, quiet_days, now) for g in groups]


def _stats(group: StudyGroup, row: dict | None, weeks: int, quiet_days: int, now: datetime) -> dict[str, Any]:
    total = row["total"] if row else 0
    last = row["last"] if row else None
    age_weeks = max(1.0, (now - group.created_at).total_seconds() / (7 * 86400))
    return {
        "group": group,
        "members": group.members,
        "posts": total,
        "weekly": [row[f"w{i}"] if row else 0 for i in range(weeks)],
        "posts_per_week": round(total / age_weeks, 1),
        "last_post": last,
        "quiet": (last or group.created_at) < now - timedelta(days=quiet_days),
    }
