"""Generated demo learners: realistic names, time zones, languages and answers, made fast.

100,000 learners take a few seconds: rows are built as plain tuples and written with
`mmooc.lib.bulk.insert` in chunks; no signals fire (no welcome email for made-up people).
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import islice

from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.lib import bulk
from mmooc.lib.ahead import ahead
from mmooc.lib.timezones import country_of_zone

# (zone, weight, languages with weights): roughly where learners of an English-language
# programming MOOC come from.
ZONES: list[tuple[str, int, dict[str, int]]] = [
    ("America/New_York", 14, {"en": 9, "es": 1}),
    ("America/Chicago", 6, {"en": 9, "es": 1}),
    ("America/Denver", 2, {"en": 1}),
    ("America/Los_Angeles", 8, {"en": 8, "es": 2}),
    ("America/Mexico_City", 4, {"es": 1}),
    ("America/Bogota", 3, {"es": 1}),
    ("America/Sao_Paulo", 5, {"pt": 1}),
    ("America/Argentina/Buenos_Aires", 2, {"es": 1}),
    ("Pacific/Honolulu", 1, {"en": 1}),
    ("Europe/London", 7, {"en": 1}),
    ("Europe/Madrid", 4, {"es": 1}),
    ("Europe/Paris", 4, {"fr": 1}),
    ("Europe/Berlin", 5, {"de": 3, "en": 1}),
    ("Europe/Warsaw", 2, {"en": 1}),
    ("Europe/Kyiv", 2, {"en": 1}),
    ("Europe/Moscow", 2, {"en": 1}),
    ("Africa/Lagos", 4, {"en": 1}),
    ("Africa/Nairobi", 3, {"en": 1}),
    ("Africa/Cairo", 2, {"en": 1}),
    ("Africa/Johannesburg", 2, {"en": 1}),
    ("Asia/Dubai", 2, {"en": 1}),
    ("Asia/Kolkata", 12, {"en": 1}),
    ("Asia/Karachi", 2, {"en": 1}),
    ("Asia/Dhaka", 2, {"en": 1}),
    ("Asia/Jakarta", 2, {"en": 1}),
    ("Asia/Manila", 3, {"en": 1}),
    ("Asia/Shanghai", 3, {"en": 1}),
    ("Asia/Tokyo", 2, {"en": 1}),
    ("Australia/Sydney", 3, {"en": 1}),
    ("Pacific/Auckland", 1, {"en": 1}),
]
FIRST_NAMES = {
    "en": ["Alice", "Ben", "Chloe", "David", "Emma", "Femi", "Grace", "Hiroshi", "Isha", "James", "Kavya",
           "Liam", "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rahul", "Sara", "Tom", "Uche", "Vikram",
           "Wanjiru", "Xin", "Yusuf", "Zoe", "Amara", "Chen", "Divya", "Kofi", "Mei", "Omar", "Ravi"],
    "es": ["Alejandro", "Carmen", "Diego", "Elena", "Javier", "Lucía", "Mateo", "Sofía", "Valentina",
           "Camila", "Andrés", "Isabel"],
    "pt": ["Ana", "Bruno", "Carla", "Felipe", "Gabriela", "João", "Larissa", "Rafael", "Thiago", "Beatriz"],
    "fr": ["Camille", "Hugo", "Léa", "Louis", "Manon", "Nathan", "Chloé", "Théo", "Inès"],
    "de": ["Anna", "Felix", "Hannah", "Jonas", "Lena", "Lukas", "Marie", "Paul", "Sophie"],
}
LAST_NAMES = ["Smith", "Okafor", "García", "Müller", "Sharma", "Nguyen", "Silva", "Kim", "Martin", "Kowalski",
              "Mensah", "Ivanova", "Rossi", "Tanaka", "Haddad", "Johnson", "Patel", "López", "Dubois",
              "Schmidt", "Wang", "Santos", "Kariuki", "Brown", "Ali", "Fernández", "Nakamura", "Hughes"]
EMAIL_DOMAINS = ["example.org", "example.com", "example.net"]


FIELDS = ("public_id", "cohort", "email", "email_key", "name", "timezone", "country", "language", "wants_group",
          "group_confirmed", "answers", "state", "source", "signed_up_at", "confirmed_at", "left_at",
          "unsubscribed_at", "complained_at")


def generate_learners(cohort: Cohort, count: int, *, seed: int = 2012, chunk: int = 10_000,
                      progress: Callable[[int], None] | None = None) -> int:
    """Add `count` made-up learners to `cohort`; returns how many were written.

    Each chunk is made in a helper thread while the database writes the chunk before
    (`mmooc.lib.ahead`); only the helper draws from the generator, so a seed gives the same
    learners every time."""
    rows = _learners(cohort, count, random.Random(seed), cohort.course.questions)  # read here, not in the helper
    written = 0
    for batch in ahead(range(math.ceil(count / chunk)), lambda _: list(islice(rows, chunk))):
        written += bulk.insert(Learner, FIELDS, batch)
        if progress:
            progress(written)
    if progress and not written:
        progress(0)
    return written


def _learners(cohort: Cohort, count: int, rng: random.Random, questions: list[dict]) -> Iterator[tuple]:
    """One row per learner, in the order of FIELDS."""
    zones = [z for z, _, _ in ZONES]
    picks = rng.choices(range(len(ZONES)), [w for _, w, _ in ZONES], k=count)
    languages = [(list(langs), list(langs.values())) for _, _, langs in ZONES]
    countries = [country_of_zone(z) for z in zones]
    ascii_names = {n: _ascii(n) for names in FIRST_NAMES.values() for n in names} | {n: _ascii(n) for n in LAST_NAMES}
    window = (min(cohort.signup_closes, timezone.now()) - cohort.signup_opens).total_seconds()
    states = rng.choices([Learner.CONFIRMED, Learner.PENDING, Learner.LEFT], [86, 9, 5], k=count)
    for n, (z, state) in enumerate(zip(picks, states, strict=True)):
        langs, weights = languages[z]
        language = langs[0] if len(langs) == 1 else rng.choices(langs, weights)[0]
        first = rng.choice(FIRST_NAMES[language])
        last = rng.choice(LAST_NAMES)
        email = f"{ascii_names[first]}.{ascii_names[last]}.{n}@{rng.choice(EMAIL_DOMAINS)}".lower()
        signed_up = _signup_time(cohort, window, rng)
        yield (uuid.UUID(int=rng.getrandbits(128), version=4), cohort.pk, email, email, f"{first} {last}",
               zones[z], countries[z], language, rng.random() < 0.8, None, _answers(questions, rng), state,
               Learner.SIGNUP_DEMO, signed_up,
               signed_up + timedelta(minutes=rng.randint(1, 600)) if state != Learner.PENDING else None,
               signed_up + timedelta(days=rng.randint(1, 10)) if state == Learner.LEFT else None, None, None)


def _signup_time(cohort: Cohort, window: float, rng: random.Random) -> datetime:
    # Most signups come early, after the announcement, with a second wave near the start.
    fraction = rng.betavariate(1.3, 2.2) if rng.random() < 0.8 else rng.uniform(0.4, 1.0)
    return cohort.signup_opens + timedelta(seconds=window * fraction)


def _answers(questions: list[dict], rng: random.Random) -> dict:
    answers: dict[str, object] = {}
    for q in questions:
        if rng.random() < 0.15:
            continue
        kind, choices = q.get("type"), q.get("choices") or []
        if kind == "single" and choices:
            answers[q["id"]] = rng.choice(choices)
        elif kind == "multiple" and choices:
            answers[q["id"]] = rng.sample(choices, k=rng.randint(1, min(3, len(choices))))
        elif kind == "yesno":
            answers[q["id"]] = rng.random() < 0.85
        elif kind == "text":
            answers[q["id"]] = rng.choice(["A small game", "Automate my spreadsheets", "A website for my club",
                                           "Analyse my running data", "A bot for my family chat"])
    return answers


def _ascii(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
