"""Who receives a course email: the audience kinds, and the learners they select.

An audience is stored as JSON on the email:

    {"kind": "all"}                      every confirmed learner of the cohort
    {"kind": "grouped"}                  those with an active study-group membership
    {"kind": "solo"}                     those without one (studying alone, or not yet grouped)
    {"kind": "wanting-group"}            those who asked for a study group
    {"kind": "groups", "groups": [1, 4]} members of the groups with these numbers
    {"kind": "answer", "question": "experience", "answer": "Never"}
                                         whose answer to a signup question is (or includes) this
    {"kind": "test", "addresses": ["me@example.org"]}
                                         confirmed learners with these addresses only

Whatever the kind, learners who left, unsubscribed from the cohort's emails or whose
address is suppressed are never included.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from mmooc.emails.exceptions import AudienceError

ALL, GROUPED, SOLO, WANTING, GROUPS, ANSWER, TEST = (
    "all", "grouped", "solo", "wanting-group", "groups", "answer", "test")
SIMPLE_KINDS = (ALL, GROUPED, SOLO, WANTING)
LABELS = {
    ALL: "All confirmed learners",
    GROUPED: "Learners in a study group",
    SOLO: "Learners not in a study group",
    WANTING: "Learners who asked for a study group",
    GROUPS: "Members of chosen groups",
    ANSWER: "Learners whose answer to a signup question matches",
    TEST: "Test addresses",
}
MAX_TEST_ADDRESSES = 20
QUESTION_ID = re.compile(r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$")


def parse_audience(value: Any, questions: list[dict] | None = None) -> dict:
    """The stored form of an audience written in a course folder or a form; AudienceError if bad.

    Accepts a kind name (`all`, `grouped`, `solo`, `wanting-group`) or a mapping with one of
    `groups: [numbers]`, `question: id` + `answer: text`, `test: [addresses]` (or `kind:`).
    """
    if value is None or value == "":
        return {"kind": ALL}
    if isinstance(value, str):
        if value not in SIMPLE_KINDS:
            raise AudienceError(f"unknown audience {value!r}; use {', '.join(SIMPLE_KINDS)}, "
                                "or a mapping with groups:, question: and answer:, or test:")
        return {"kind": value}
    if not isinstance(value, dict):
        raise AudienceError("the audience must be a word such as all, or a mapping")
    kind = value.get("kind") or next((k for k in ("groups", "question", "test") if k in value), None)
    if kind in SIMPLE_KINDS and set(value) <= {"kind"}:
        return {"kind": kind}
    if kind == GROUPS:
        return {"kind": GROUPS, "groups": _numbers(value.get("groups"))}
    if kind in (ANSWER, "question"):
        return _answer(value, questions)
    if kind == TEST:
        return {"kind": TEST, "addresses": _addresses(value.get("test", value.get("addresses")))}
    raise AudienceError(f"unknown audience {value!r}")


def _numbers(value: Any) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(n, int) and n > 0 for n in value):
        raise AudienceError("groups: must be a list of group numbers, e.g. [1, 4]")
    return sorted(set(value))


def _answer(value: dict, questions: list[dict] | None) -> dict:
    question, answer = value.get("question"), value.get("answer")
    if not isinstance(question, str) or not question or answer in (None, ""):
        raise AudienceError("an answer audience needs question: (the question id) and answer:")
    if not QUESTION_ID.match(question):
        raise AudienceError(f"{question!r} is not a question id (letters, digits, - and _)")
    if isinstance(answer, bool):
        answer = "yes" if answer else "no"
    answer = str(answer).strip()
    if questions is not None:
        declared = next((q for q in questions if q.get("id") == question), None)
        if declared is None:
            raise AudienceError(f"no signup question has the id {question!r}")
        choices = [str(c) for c in declared.get("choices") or []]
        same = [c for c in choices if c.lower() == answer.lower()]
        if choices and not same:
            raise AudienceError(f"{answer!r} is not one of the choices of {question!r}: {', '.join(choices)}")
        answer = same[0] if same else answer  # the choice exactly as learners chose it
    return {"kind": ANSWER, "question": question, "answer": answer}


def _addresses(value: Any) -> list[str]:
    from email_validator import EmailNotValidError, validate_email

    if isinstance(value, str):
        value = [a for a in value.replace(",", " ").split() if a]
    if not isinstance(value, list) or not value:
        raise AudienceError("test: must list one or more addresses")
    if len(value) > MAX_TEST_ADDRESSES:
        raise AudienceError(f"at most {MAX_TEST_ADDRESSES} test addresses")
    found = []
    for address in value:
        try:
            found.append(validate_email(str(address), check_deliverability=False).normalized.lower())
        except EmailNotValidError as exc:
            raise AudienceError(f"{address!r} is not a valid address: {exc}") from None
    return found


def describe(audience: dict) -> str:
    kind = audience.get("kind", ALL)
    if kind == GROUPS:
        return f"Members of groups {', '.join(str(n) for n in audience.get('groups', []))}"
    if kind == ANSWER:
        return f"Learners who answered {audience.get('answer')!r} to {audience.get('question')!r}"
    if kind == TEST:
        return f"Test addresses: {', '.join(audience.get('addresses', []))}"
    return LABELS.get(kind, kind)


def recipients(email: Any) -> QuerySet:
    """The learners an email goes to, as one query (counted or iterated by the caller)."""
    return audience_learners(email.cohort, email.audience or {"kind": ALL})


def audience_learners(cohort: Any, audience: dict) -> QuerySet:
    from mmooc.groups.models import Membership
    from mmooc.learners.models import Learner
    from mmooc.mailer.models import Suppression

    learners = (Learner.objects.confirmed().filter(cohort=cohort, unsubscribed_at__isnull=True)
                .exclude(Exists(Suppression.objects.filter(address=OuterRef("email_key")))))
    in_group = Membership.objects.active().filter(learner=OuterRef("pk"))
    kind = audience.get("kind", ALL)
    if kind == GROUPED:
        return learners.filter(Exists(in_group))
    if kind == SOLO:
        return learners.exclude(Exists(in_group))
    if kind == WANTING:
        return learners.filter(wants_group=True).exclude(group_confirmed=False)
    if kind == GROUPS:
        return learners.filter(Exists(in_group.filter(group__number__in=audience.get("groups", []))))
    if kind == ANSWER:
        return _answered(learners, audience["question"], audience["answer"])
    if kind == TEST:
        return learners.filter(email_key__in=audience.get("addresses", []))
    return learners


def _answered(learners: QuerySet, question: str, answer: str) -> QuerySet:
    """Learners whose answer is `answer`: text equal (any case), among the choices of a
    multiple-choice answer, or yes/no for a yes-or-no question. One query, no id lists."""
    wanted = answer.strip()
    if connection.vendor == "postgresql":
        match = (Q(**{f"answers__{question}__iexact": wanted})
                 | Q(**{f"answers__{question}__contains": [wanted]}))
        if wanted.lower() in ("yes", "no"):
            match |= Q(**{f"answers__{question}": wanted.lower() == "yes"})
        return learners.filter(match)
    # SQLite: json_each walks a list's items, or yields the single value of a scalar.
    table = learners.model._meta.db_table
    condition = (f"EXISTS (SELECT 1 FROM json_each({table}.answers, %s) AS a WHERE "
                 "(a.type = 'text' AND lower(a.value) = lower(%s)) "
                 "OR (a.type = 'true' AND lower(%s) = 'yes') OR (a.type = 'false' AND lower(%s) = 'no'))")
    # The question id was checked against QUESTION_ID; values are parameters.
    return learners.extra(where=[condition], params=[f'$."{question}"', wanted, wanted, wanted])
