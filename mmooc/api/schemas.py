"""The shapes the API reads and writes, as its OpenAPI description shows them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema


class ErrorBody(Schema):
    type: str = Field(description="The family: invalid_request_error, authentication_error, permission_error, "
                                  "not_found_error, conflict_error, rate_limit_error, idempotency_error.")
    code: str = Field(description="The stable reason, e.g. learner_not_found.")
    message: str
    param: str | None = None


class Error(Schema):
    error: ErrorBody


class CourseOut(Schema):
    slug: str
    title: str
    summary: str
    cohorts: list[str]


class CohortOut(Schema):
    slug: str
    course: str
    title: str
    state: str
    timezone: str
    signup_opens: datetime
    signup_closes: datetime
    start_date: date
    end_date: date


class Page(Schema):
    has_more: bool
    next_cursor: str | None


class LearnerOut(Schema):
    id: uuid.UUID
    cohort: str
    email: str
    name: str
    timezone: str
    language: str
    state: str
    wants_group: bool
    answers: dict[str, Any]
    source: str
    signed_up_at: datetime
    confirmed_at: datetime | None
    left_at: datetime | None
    unsubscribed_at: datetime | None


class LearnerPage(Page):
    data: list[LearnerOut]


class LearnerIn(Schema):
    email: str = Field(max_length=320)
    name: str = Field("", max_length=400)
    timezone: str = Field("", max_length=64, description="IANA zone; the cohort's when empty.")
    language: str = Field("", max_length=16)
    wants_group: bool = True
    answers: dict[str, str | list[str]] = Field(default_factory=dict)


class LearnerCreate(LearnerIn):
    consented: bool = Field(False, description="True: the learner agreed elsewhere and is confirmed now; "
                                               "False: they get the usual confirmation email.")


class LearnerImport(Schema):
    learners: list[LearnerIn] = Field(min_length=1, max_length=10_000)
    consented: bool = False


class ImportOut(Schema):
    imported: int
    already: int = Field(description="Addresses already in the cohort, left unchanged.")


class Schedule(Schema):
    kind: Literal["now", "at", "relative", "local"] = Field(
        description="now; at a date and time in the cohort's zone; day N at a time in the cohort's zone "
                    "(relative) or in each learner's own zone (local).")
    day: int | None = Field(None, ge=-365, le=3650)
    time: str | None = Field(None, pattern=r"^\d{2}:\d{2}$", description="HH:MM")
    at: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$", description="YYYY-MM-DDTHH:MM")


class Audience(Schema):
    kind: Literal["all", "grouped", "solo", "wanting-group", "groups", "answer", "test"] = "all"
    groups: list[int] = Field(default_factory=list)
    question: str = ""
    answer: str = ""
    addresses: list[str] = Field(default_factory=list)


class EmailIn(Schema):
    subject: str = Field(max_length=300)
    body: str = Field(max_length=200_000)
    module: int | None = Field(None, description="The module's position, or null.")
    audience: Audience = Field(default_factory=Audience)
    schedule: Schedule


class EmailPatch(Schema):
    subject: str | None = Field(None, max_length=300)
    body: str | None = Field(None, max_length=200_000)
    module: int | None = None
    audience: Audience | None = None
    schedule: Schedule | None = None


class EmailOut(Schema):
    id: uuid.UUID
    cohort: str
    subject: str
    body: str
    module: int | None
    audience: dict[str, Any]
    schedule: dict[str, Any] | None
    welcome: bool
    state: str
    sending: str | None = Field(description="The outbox's state of its copies: active, paused, cancelled; "
                                            "null before it is scheduled.")
    created_at: datetime
    updated_at: datetime


class ScheduledOut(Schema):
    recipients: int
    email: EmailOut


class Progress(Schema):
    state: str = Field(description="active, paused, cancelled, or not-started")
    counts: dict[str, int] = Field(description="Copies per delivery status.")
    total: int
    done: int
    percent: float
    finished: bool


class SuppressionOut(Schema):
    address: str
    reason: str
    detail: str
    created_at: datetime


class SuppressionPage(Page):
    data: list[SuppressionOut]


class SuppressionIn(Schema):
    address: str = Field(max_length=320)
    detail: str = Field(min_length=1, max_length=500, description="Why this address must not be mailed.")


class SuppressionRemove(Schema):
    reason: str = Field(min_length=1, max_length=500, description="Why this address may be mailed again.")


class Removed(Schema):
    removed: bool


class GroupOut(Schema):
    number: int
    name: str
    address: str
    language: str
    pooled: bool
    members: int
    created_at: datetime


class MemberOut(Schema):
    learner: uuid.UUID
    name: str
    email: str
    timezone: str
    joined_at: datetime
    muted: bool
    delivery: str


class GroupingIn(Schema):
    size: int | None = Field(None, ge=2, le=1000, description="Target group size; the course's when null.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Changes only how ties are broken.")


class ProposedOut(Schema):
    number: int
    size: int
    language: str
    pooled: bool
    span_hours: float


class PreviewOut(Schema):
    groups: list[ProposedOut]
    learners: int


class AppliedOut(Schema):
    groups: int
    learners: int


class MoveIn(Schema):
    group: int = Field(description="The number of the group to move the learner to.")


class DomainCopies(Schema):
    domain: str
    copies: int


class RegionTimes(Schema):
    region: str
    copies: int
    first: datetime
    last: datetime


class Quotas(Schema):
    per_second: float = Field(description="0 = no limit, as for the others.")
    per_hour: int
    per_day: int
    per_domain_hour: int = Field(description="Copies an hour to one recipient domain.")
    source: str = Field(description="Where the figures come from (MMOOC_PROVIDER_QUOTAS or the provider's "
                                    "published defaults).")


class OtherSend(Schema):
    label: str = Field(description="The other message's cohort and subject.")
    copies: int = Field(description="Its copies due in this send's window.")
    first: datetime
    last: datetime


class OutlookOut(Schema):
    copies: int = Field(description="Copies scheduling would queue now.")
    soon: int = Field(description="Of those, copies that would leave now or within ten minutes.")
    first: datetime | None = Field(description="When the first copy would leave (after the undo window).")
    last: datetime | None = Field(description="When the last copy would leave.")
    skipped: int = Field(description="Copies left out because the email's phase is over for those learners.")
    note: str = Field(description="What to say about the skipped copies, if any.")
    needs_confirmation: bool = Field(description="True when `schedule` must be given confirm_send_now=soon.")
    recipients: int = Field(description="Learners of the audience (copies plus skipped).")
    domains: list[DomainCopies] = Field(description="Copies per recipient domain: the ten largest, then "
                                                    "`others` for the rest.")
    regions: list[RegionTimes] = Field(description="Copies and first and last leaving time (UTC) per region of "
                                                   "the learners' time zones (Americas, Europe, Africa, Asia, "
                                                   "Oceania, Other).")
    finishes: datetime | None = Field(description="When the last copy leaves under the rate and the quotas.")
    duration_seconds: int = Field(description="From the first copy to the last, under the rate and the quotas.")
    rate: float = Field(description="Copies a second: the lower of MMOOC_MAIL_RATE and the provider's "
                                    "per-second quota; 0 = no limit.")
    quotas: Quotas = Field(description="The provider's quotas the plan counts with.")
    past_due: int = Field(description="Copies whose time has passed in the learners' zones: they go out at once.")
    warnings: list[str] = Field(description="Quotas exceeded (by how much, and when the send would finish), "
                                            "collisions with other sends, past-due copies.")
    collisions: list[OtherSend] = Field(description="Other messages (any cohort) with copies due in this send's "
                                                    "window, and how many.")


class PostOut(Schema):
    id: int
    message_id: str
    in_reply_to: str
    subject: str
    author: uuid.UUID | None = Field(description="The learner who wrote it; null for an erased or unknown sender.")
    author_name: str
    received_at: datetime
    size: int
    hidden: bool = Field(description="Hidden by staff from the archive and digests.")
    held: bool = Field(description="Not relayed: held for moderation or from an address no member confirmed.")
    held_reason: str


class PostPage(Page):
    data: list[PostOut]


class HeldOut(PostOut):
    group: int = Field(description="The number of the post's group.")
    kind: str = Field(description="Why it is held: spam (the provider's verdict), unknown-sender, "
                                  "first-post, too-big (over the size limit; see size) or muted (from a "
                                  "muted member).")
    sender: str = Field(description="The address it came from, as staff see it.")
    size_limit: int = Field(description="The size limit for group posts, in bytes: a too-big post's size is over it.")
    preview: str = Field(description="The start of its text, as plain text.")


class HeldPage(Page):
    data: list[HeldOut]


class RejectIn(Schema):
    note: str = Field("", max_length=2000, description="Sent to the sender when not empty (never to a list, "
                                                      "a bounce or an automatic reply).")


class Rejected(Schema):
    rejected: bool
    sender_told: bool = Field(description="The note went to the sender.")


class CheckInOut(Schema):
    learner: uuid.UUID
    group: int | None
    week: int
    status: str = Field(description="done, stuck or skip")
    topic: str
    source: str = Field(description="group (mail to the group) or reply (reply to a course email)")
    created_at: datetime
    updated_at: datetime


class CheckInPage(Page):
    data: list[CheckInOut]
