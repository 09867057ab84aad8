"""What the learner page, the group staff page and the cohort overview show of check-ins."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from mmooc.checkins import parsing
from mmooc.checkins.intake import checkin_address, weeks_in
from mmooc.checkins.models import CheckIn
from mmooc.courses.models import Cohort
from mmooc.groups.models import Membership, StudyGroup
from mmooc.learners.models import Learner
from mmooc.lib import clock


def current_week(cohort: Cohort, now: datetime | None = None) -> int:
    """The cohort's week on its own calendar (0 before the start)."""
    return clock.stage(cohort.start_date, cohort.end_date, cohort.timezone, now or timezone.now()).week


def learner_section(learner: Learner) -> dict[str, Any] | None:
    """The learner's own word on each week so far, and how to check in."""
    if learner.state != Learner.CONFIRMED:
        return None
    cohort = learner.cohort
    stage = clock.stage(cohort.start_date, cohort.end_date, learner.timezone, timezone.now())
    latest = CheckIn.objects.filter(learner=learner).latest_per_week()
    weeks = [{"week": w, "checkin": latest.get((learner.pk, w))} for w in range(1, max(stage.week, 0) + 1)]
    return {"template": "checkins/_learner_section.html", "weeks": weeks, "stage": stage,
            "address": checkin_address(cohort), "example_week": max(stage.week, 1)}


def group_week(group: StudyGroup, week: int) -> dict[str, Any]:
    """Who of the group's members said what about `week`, and who said nothing."""
    members = list(Membership.objects.active().filter(group=group).select_related("learner")
                   .order_by("learner__name", "learner__email"))
    latest = CheckIn.objects.filter(learner__in=[m.learner_id for m in members], week=week).latest_per_week()
    rows = [{"learner": m.learner, "checkin": latest.get((m.learner_id, week))} for m in members]
    counts = Counter(r["checkin"].status for r in rows if r["checkin"])
    return {"week": week, "rows": rows, "members": len(rows), "done": counts[parsing.DONE],
            "stuck": counts[parsing.STUCK], "skipped": counts[parsing.SKIP],
            "stuck_rows": [r for r in rows if r["checkin"] and r["checkin"].status == parsing.STUCK]}


def group_panel(group: StudyGroup) -> dict[str, Any] | None:
    week = current_week(group.cohort)
    if week < 1:
        return None
    return {"template": "checkins/_group_panel.html", **group_week(group, week)}


def completion(cohort: Cohort) -> list[dict[str, Any]]:
    """Per week so far: learners whose last word on it is done, stuck or skipped, of the confirmed."""
    upto = min(current_week(cohort), weeks_in(cohort))
    if upto < 1:
        return []
    confirmed = Learner.objects.confirmed().filter(cohort=cohort).count()
    said = (CheckIn.objects.filter(cohort=cohort, learner__state=Learner.CONFIRMED, week__lte=upto).current()
            .values_list("week", "status").annotate(n=Count("id")).order_by())
    counts = Counter({(week, status): n for week, status, n in said})
    rows = []
    for week in range(1, upto + 1):
        done = counts[(week, parsing.DONE)]
        rows.append({"week": week, "done": done, "stuck": counts[(week, parsing.STUCK)],
                     "skipped": counts[(week, parsing.SKIP)], "learners": confirmed,
                     "percent": round(100 * done / confirmed) if confirmed else 0})
    return rows


def forget_erased(sender: Any, learner: Learner, **kwargs: Any) -> None:
    """An erased learner's check-ins go: their topics are their own words."""
    CheckIn.objects.filter(learner=learner).delete()
