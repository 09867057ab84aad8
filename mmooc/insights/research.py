"""The pseudonymised research export of a cohort: a zip of CSV and JSON files and a codebook.

Every person is a keyed pseudonym: HMAC-SHA256 of their random public id under a key made
for this export alone, shown once to the organizer and never stored (neither here nor in the
zip). The same learner has the same pseudonym in every file of one export, and another one
in the next export. No address, name, subject or body is written.

Coarsening (K = 5), applied to the learner table's quasi-identifiers (group, UTC offset,
language) by `coarsen`, a pure function:

1. a group with fewer than K learners in the export becomes "small";
2. a UTC offset shared by fewer than K learners becomes its region (REGIONS); a region
   with fewer than K learners becomes "any";
3. a language of fewer than K learners becomes "other"; "other" with fewer than K, "any";
4. then, while some combination of the three is shared by fewer than K learners, its rows
   are generalised one step more, in this order: offset to region, offset to "any",
   language to "any", group to "small";
5. if fewer than K rows are then "small", "any", "any", rows of the largest combinations
   join them until they are K. Only a cohort of fewer than K learners keeps a combination
   below K.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from mmooc.courses.models import Cohort
from mmooc.groups.membership import zone_offset
from mmooc.groups.models import Membership
from mmooc.insights.facts import checkins, course_week, replies
from mmooc.learners.models import Learner
from mmooc.lib.downloads import csv_lines
from mmooc.lists.models import Post

K = 5
SMALL, ANY, OTHER = "small", "any", "other"
# (lowest offset, label): each offset belongs to the last region whose lowest offset it reaches.
REGIONS = [(-24.0, "UTC-12 to UTC-3"), (-2.5, "UTC-2 to UTC+4"), (4.5, "UTC+4:30 to UTC+14")]


def new_key() -> str:
    return secrets.token_hex(32)


def pseudonym(key: bytes, kind: str, value: str) -> str:
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0]}{digest[:16]}"


def offset_label(hours: float) -> str:
    return "UTC" + (f"{hours:+g}" if hours else "+0")


def region(hours: float) -> str:
    return [label for lowest, label in REGIONS if hours >= lowest][-1]


@dataclass(frozen=True)
class Quasi:
    """What could single a learner out: group, UTC offset (hours; region label once coarsened), language."""

    group: str
    offset: float | str
    language: str


def coarsen(rows: Sequence[Quasi], k: int = K) -> list[Quasi]:
    """The rows with rare values generalised (see the module's docstring); same order."""
    out = list(rows)
    groups = Counter(r.group for r in out)
    out = [replace(r, group=SMALL) if groups[r.group] < k else r for r in out]
    offsets = Counter(r.offset for r in out)
    out = [replace(r, offset=region(float(r.offset))) if offsets[r.offset] < k else r for r in out]
    out = _rare_to(out, "offset", ANY, k, lambda r: isinstance(r.offset, str))
    languages = Counter(r.language for r in out)
    out = [replace(r, language=OTHER) if languages[r.language] < k else r for r in out]
    out = _rare_to(out, "language", ANY, k, lambda r: r.language == OTHER)
    steps = [("offset", lambda r: r.offset if isinstance(r.offset, str) else region(r.offset)),
             ("offset", lambda r: ANY), ("language", lambda r: ANY), ("group", lambda r: SMALL)]
    for name, general in steps:
        combos = Counter(out)
        out = [replace(r, **{name: general(r)}) if combos[r] < k else r for r in out]
    return _fill_residue(out, k)


def _fill_residue(rows: list[Quasi], k: int) -> list[Quasi]:
    """Rows of the largest combinations join the fully generalised rows until they are k."""
    residue = Quasi(SMALL, ANY, ANY)
    counts = Counter(rows)
    while 0 < counts[residue] < k and len(rows) >= k:
        donor = max((c for c in counts if c != residue), key=lambda c: (counts[c], str(c)))
        need = k - counts[residue]
        moving = need if counts[donor] - need >= k else counts[donor]
        for i in range(len(rows) - 1, -1, -1):
            if moving and rows[i] == donor:
                rows[i], moving = residue, moving - 1
        counts = Counter(rows)
    return rows


def _rare_to(rows: list[Quasi], name: str, value: str, k: int, among: Any) -> list[Quasi]:
    counts = Counter(getattr(r, name) for r in rows if among(r))
    return [replace(r, **{name: value}) if among(r) and counts[getattr(r, name)] < k else r for r in rows]


@dataclass
class Export:
    learners: list[dict[str, Any]]
    activity: list[dict[str, Any]]
    replies: list[dict[str, Any]]


def collect(cohort: Cohort, key: bytes) -> Export:
    people = list(Learner.objects.filter(cohort=cohort, state__in=[Learner.CONFIRMED, Learner.LEFT])
                  .order_by("pk").values("pk", "public_id", "timezone", "language", "signed_up_at", "confirmed_at",
                                         "left_at"))
    names = {p["pk"]: pseudonym(key, "learner", UUID(str(p["public_id"])).hex) for p in people}
    groups = _last_groups(cohort, key)
    quasi = coarsen([Quasi(groups.get(p["pk"], "none"), zone_offset(p["timezone"], cohort), p["language"] or "")
                     for p in people])
    learners = [{"learner": names[p["pk"]], "group": q.group,
                 "utc_offset": offset_label(q.offset) if isinstance(q.offset, float) else q.offset,
                 "language": q.language, "signup_week": course_week(cohort, p["confirmed_at"] or p["signed_up_at"]),
                 "leave_week": course_week(cohort, p["left_at"]) if p["left_at"] else None}
                for p, q in zip(people, quasi, strict=True)]
    return Export(learners, _activity(cohort, names), _replies(cohort, names))


def _last_groups(cohort: Cohort, key: bytes) -> dict[int, str]:
    """Each learner's group now, or the last they joined, as a pseudonym."""
    rows = (Membership.objects.filter(group__cohort=cohort).order_by("joined_at", "pk")
            .values_list("learner_id", "group_id"))
    return {learner_id: pseudonym(key, "group", f"{cohort.pk}-{group_id}") for learner_id, group_id in rows}


def _activity(cohort: Cohort, names: dict[int, str]) -> list[dict[str, Any]]:
    posts: Counter[tuple[int, int]] = Counter()
    for author_id, at in Post.objects.filter(group__cohort=cohort, held=False, author__isnull=False).values_list(
            "author_id", "received_at"):
        posts[(author_id, course_week(cohort, at))] += 1
    checked: Counter[tuple[int, int]] = Counter((c.learner_id, c.week) for c in checkins(cohort))
    keys = sorted((k for k in set(posts) | set(checked) if k[0] in names), key=lambda k: (names[k[0]], k[1]))
    return [{"learner": names[lid], "week": week, "posts": posts[(lid, week)], "checkins": checked[(lid, week)]}
            for lid, week in keys]


def _replies(cohort: Cohort, names: dict[int, str]) -> list[dict[str, Any]]:
    edges: Counter[tuple[str, str, int]] = Counter()
    for reply in replies(Post.objects.filter(group__cohort=cohort)):
        if reply.author_id in names and reply.to_author_id in names:
            edges[(names[reply.author_id], names[reply.to_author_id], course_week(cohort, reply.at))] += 1
    return [{"from": a, "to": b, "week": week, "replies": n} for (a, b, week), n in sorted(edges.items())]


def _csv(rows: list[dict[str, Any]], header: list[str]) -> str:
    return "".join(csv_lines(header, ([row[h] for h in header] for row in rows)))


FILES = {"learners": ["learner", "group", "utc_offset", "language", "signup_week", "leave_week"],
         "activity": ["learner", "week", "posts", "checkins"],
         "replies": ["from", "to", "week", "replies"]}


def export_zip(cohort: Cohort, key: bytes, now: datetime) -> Any:
    """The export as a zip in a spooled file, rewound and ready to stream."""
    data = collect(cohort, key)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.md", codebook(cohort, now, data))
        for name, header in FILES.items():
            rows = getattr(data, name)
            zf.writestr(f"{name}.csv", _csv(rows, header))
            zf.writestr(f"{name}.json", json.dumps(rows, indent=1))
    spool.seek(0)
    return spool


def file_chunks(spool: Any, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()


def codebook(cohort: Cohort, now: datetime, data: Export) -> str:
    return CODEBOOK.format(course=cohort.course.title.replace("@", " at "), slug=cohort.slug,
                           start=cohort.start_date.isoformat(), made=now.strftime("%Y-%m-%d %H:%M UTC"), k=K,
                           learners=len(data.learners), activity=len(data.activity), replies=len(data.replies),
                           regions="\n".join(f"   - `{label}`" for _, label in REGIONS))


CODEBOOK = """# Research export: {course} ({slug})

Made {made}. The cohort started on {start} (course week 1 is the seven days from that date;
week 0 the seven days before, and so on, in UTC).

## Pseudonyms

Every learner is a pseudonym such as `l3f9a0c1d2e4b5a69`, every group one such as
`g1a2b3c4d5e6f7a8b`: an HMAC-SHA256, under a random key made for this export alone, of an
identifier that appears nowhere in this export. The same person has the same pseudonym in
every file of this export, and a different one in any other export. The key was shown once
to the organizer who made the export; it is not stored with the data nor by the site. No
address, name, subject or message body is in this export.

## Files

Each table is given twice, as CSV (`.csv`, UTF-8, a header line) and as JSON (`.json`, a
list of objects with the same keys).

### learners ({learners} rows): one row per learner who confirmed their signup

| column | meaning |
|---|---|
| learner | the learner's pseudonym |
| group | pseudonym of the study group they are in (or joined last); `small` (see below); `none`: in none |
| utc_offset | their zone's offset from UTC on the start date, e.g. `UTC+5.5`; a region, or `any` |
| language | the language they chose, as a code (`en`, `es`, ...); `other` or `any` |
| signup_week | the course week they confirmed their signup in (0 or less: before the start) |
| leave_week | the course week they left the cohort in; empty if they did not |

### activity ({activity} rows): one row per learner and week with any posts or check-ins

| column | meaning |
|---|---|
| learner | pseudonym |
| week | course week |
| posts | posts they sent to their group in that week |
| checkins | check-ins they made for that week |

### replies ({replies} rows): who replied to whom

A reply is a post whose In-Reply-To (or, without one, the last of its References) names a
post by another learner of the same group.

| column | meaning |
|---|---|
| from | pseudonym of the learner who replied |
| to | pseudonym of the learner replied to |
| week | course week of the replies |
| replies | how many such replies in that week |

## Coarsening (k = {k})

So that no row of the learner table singles a person out by group, zone and language:

1. a group with fewer than {k} learners in this export is written `small`;
2. a UTC offset shared by fewer than {k} learners is replaced by its region; a region with
   fewer than {k} learners by `any`. The regions:
{regions}
3. a language of fewer than {k} learners is written `other`; if `other` is still fewer than
   {k}, `any`;
4. then, while a combination of group, offset and language is shared by fewer than {k}
   learners, its rows are generalised one step more, in this order: offset to region,
   offset to `any`, language to `any`, group to `small`;
5. if fewer than {k} rows are then `small`, `any`, `any`, rows of the largest combinations
   join them until they are {k}.

Only a cohort of fewer than {k} learners keeps a combination below {k}. Signup and leave
weeks and the activity counts are given as they are.
"""
