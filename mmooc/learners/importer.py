"""CSV import of learners: columns mapped by header, every bad row reported, all or nothing."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.learners import lifecycle, mail, validation
from mmooc.learners.models import Learner, email_key
from mmooc.lib import bulk
from mmooc.operations import counters

if TYPE_CHECKING:
    import _csv

T = TypeVar("T")
CHUNK = 2000
MAX_ROWS = 500_000
PREVIEW_ROWS = 10
MAX_ERRORS_SHOWN = 200
# Header spellings people use, mapped to our field names.
ALIASES = {
    "email": "email", "e-mail": "email", "email address": "email", "e-mail address": "email", "mail": "email",
    "name": "name", "full name": "name",
    "timezone": "timezone", "time zone": "timezone", "tz": "timezone",
    "language": "language", "lang": "language",
    "group": "group", "wants group": "group", "study group": "group", "wants_group": "group",
}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, no header, no email column)."""


@dataclass
class Row:
    line: int
    email: str
    name: str
    timezone: str
    language: str
    wants_group: bool
    answers: dict


@dataclass
class ImportReport:
    columns: dict[str, str] = field(default_factory=dict)  # header → field
    ignored: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    already: int = 0  # addresses already in the cohort, left unchanged
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def preview(self) -> list[Row]:
        return self.rows[:PREVIEW_ROWS]


def _normalize(header: str) -> str:
    return re.sub(r"[\s_]+", " ", header.strip().lower())


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"Line {line}: the file is not UTF-8 text. In your spreadsheet, save it as "
            "“CSV UTF-8” and upload it again.") from None


def map_columns(headers: list[str], questions: list[dict]) -> tuple[dict[int, str], list[str]]:
    """Column index → field ("email", …, or "q:<question id>"); and the unused headers."""
    question_names = {}
    for q in questions:
        if q.get("id"):
            question_names[_normalize(q["id"])] = q["id"]
            if q.get("label"):
                question_names[_normalize(q["label"])] = q["id"]
    mapping, ignored, seen = {}, [], set()
    for index, header in enumerate(headers):
        key = _normalize(header)
        target = ALIASES.get(key) or (f"q:{question_names[key]}" if key in question_names else None)
        if target is None or target in seen:
            ignored.append(header)
            continue
        seen.add(target)
        mapping[index] = target
    if "email" not in seen:
        raise ImportFileError("No email column: the first line must name the columns, one of them “email”.")
    return mapping, ignored


def read(data: bytes, cohort: Cohort) -> ImportReport:
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as exc:
        raise ImportFileError(f"Line 1: {exc}") from None
    questions = cohort.course.questions
    mapping, ignored = map_columns(headers, questions)
    report = ImportReport(columns={headers[i]: f for i, f in mapping.items()}, ignored=ignored)
    existing = set(Learner.objects.filter(cohort=cohort).values_list("email_key", flat=True).iterator(CHUNK))
    first_line: dict[str, int] = {}
    for line, values in _numbered(reader, report):
        report.total += 1
        if report.total > MAX_ROWS:
            raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
        row = _row(line, values, len(headers), mapping, cohort, questions, report)
        if row is None:
            continue
        key = email_key(row.email)
        if key in first_line:
            report.errors.append(f"Line {line}: {row.email} is also on line {first_line[key]}.")
        elif key in existing:
            first_line[key] = line
            report.already += 1
        else:
            first_line[key] = line
            report.rows.append(row)
    return report


def _numbered(reader: _csv.Reader, report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"Line {reader.line_num}: {exc}") from None
        if any(v.strip() for v in values):
            yield reader.line_num, values


def _row(line: int, values: list[str], width: int, mapping: dict[int, str], cohort: Cohort,
         questions: list[dict], report: ImportReport) -> Row | None:
    if len(values) != width:
        report.errors.append(f"Line {line}: {len(values)} columns where the header has {width}.")
        return None
    raw = {mapping[i]: values[i] for i in mapping}
    multiple = {q["id"] for q in questions if q.get("type") == "multiple"}
    answers: dict[str, str | list[str]] = {}
    for name, value in raw.items():
        if name.startswith("q:"):
            key = name.removeprefix("q:")
            answers[key] = [p.strip() for p in value.split(";") if p.strip()] if key in multiple else value
    try:
        return Row(
            line=line,
            email=_field("email", validation.clean_address, raw.get("email")),
            name=_field("name", validation.clean_name, raw.get("name", "")),
            timezone=_field("time zone", validation.clean_timezone, raw.get("timezone") or cohort.timezone),
            language=_field("language", validation.clean_language, raw.get("language", "")),
            wants_group=_field("group", validation.clean_group, raw.get("group", "")),
            answers=_field("answers", lambda a: validation.clean_answers(questions, a), answers),
        )
    except ValidationError as exc:
        report.errors.append(f"Line {line}: {'; '.join(exc.messages)}")
        return None


def _field(label: str, check: Callable[[Any], T], value: Any) -> T:
    """`check(value)`, its error message prefixed with the column's label."""
    try:
        return check(value)
    except ValidationError as exc:
        raise ValidationError(f"{label}: {'; '.join(exc.messages)}") from None


def apply(report: ImportReport, cohort: Cohort, *, consented: bool, now: datetime | None = None) -> int:
    """Create every row's learner in one transaction; confirmed only when consent was given."""
    if not report.ok:
        raise ImportFileError("The file has errors; nothing was imported.")
    now = now or timezone.now()
    state = Learner.CONFIRMED if consented else Learner.PENDING
    imported = [Imported(uuid.uuid4(), row.email, row.name, cohort, row.language) for row in report.rows]
    with transaction.atomic():
        for start in range(0, len(report.rows), CHUNK):
            _insert(report.rows[start:start + CHUNK], imported[start:start + CHUNK], cohort, state, now)
        counters.add_many({("signups", Learner.SIGNUP_IMPORT): len(imported),
                           ("confirmations", ""): len(imported) if consented else 0})
        if consented:
            ids = [i.public_id for i in imported]
            transaction.on_commit(lambda: _announce(ids))
        else:
            # Not confirmed elsewhere: each one gets the usual confirmation email.
            mail.queue_confirmations(imported)
    return len(report.rows)


@dataclass
class Imported:
    """What a confirmation email needs of a learner just inserted."""

    public_id: uuid.UUID
    email: str
    name: str
    cohort: Cohort
    language: str = "en"

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


_FIELDS = ["public_id", "cohort", "email", "email_key", "name", "timezone", "country", "language",
           "wants_group", "answers", "state", "source", "signed_up_at", "confirmed_at"]


def _insert(rows: list[Row], imported: list[Imported], cohort: Cohort, state: str, now: datetime) -> None:
    """One bulk statement per chunk: model instances would cost more than the database."""
    confirmed = now if state == Learner.CONFIRMED else None
    bulk.insert(Learner, _FIELDS, (
        (item.public_id, cohort.pk, row.email, email_key(row.email), row.name, row.timezone,
         validation.country_for_zone(row.timezone), row.language, row.wants_group, row.answers, state,
         Learner.SIGNUP_IMPORT, now, confirmed)
        for row, item in zip(rows, imported, strict=True)))


def _announce(public_ids: list[uuid.UUID]) -> None:
    for start in range(0, len(public_ids), CHUNK):
        chunk = public_ids[start:start + CHUNK]
        for learner in Learner.objects.filter(public_id__in=chunk).select_related("cohort__course"):
            lifecycle.announce_confirmed(learner)
