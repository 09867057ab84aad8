"""The pseudonymised research export: nothing that names a person, rare values coarsened."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from mmooc import testing
from mmooc.audit.models import AuditEntry
from mmooc.groups.membership import leave
from mmooc.insights import research
from mmooc.insights.research import ANY, SMALL, Quasi, coarsen
from mmooc.insights.tests.helpers import group_of, post
from mmooc.learners.models import Learner

pytestmark = pytest.mark.django_db
ZONES = ["Europe/Paris"] * 6 + ["America/New_York"] * 5 + ["Asia/Kolkata"]


@pytest.fixture
def cohort_with_talk(cohort):
    big, members = group_of(cohort, 1, ZONES)
    small, few = group_of(cohort, 2, ["Asia/Tokyo", "Asia/Tokyo"], language="ja")
    first = post(big, members[0])
    post(big, members[1], reply_to=first)
    post(big, members[2], refs=f"<old@x> {first.message_id}")
    post(small, few[0])
    leave(members[3])
    Learner.objects.filter(pk=members[3].pk).update(state=Learner.LEFT, left_at=timezone.now())
    testing.make_learner(cohort, "pending@example.org", name="Pending Person", state=Learner.PENDING)
    return cohort


def download(client, cohort, key=None):
    key = key or research.new_key()
    r = client.post(f"/dashboard/cohorts/{cohort.slug}/research/export.zip", {"key": key})
    assert r.status_code == 200, r.content
    assert r["Content-Type"] == "application/zip" and r["Cache-Control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))


def read_csv(zf, name):
    return list(csv.DictReader(io.StringIO(zf.read(name).decode())))


def test_the_zip_holds_a_codebook_and_each_table_as_csv_and_json(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    zf = download(client, cohort_with_talk)
    assert sorted(zf.namelist()) == ["README.md", "activity.csv", "activity.json", "learners.csv", "learners.json",
                                     "replies.csv", "replies.json"]
    for name in ["learners", "activity", "replies"]:
        rows = read_csv(zf, f"{name}.csv")
        assert [{k: str(v) if v is not None else "" for k, v in row.items()}
                for row in json.loads(zf.read(f"{name}.json"))] == rows
    readme = zf.read("README.md").decode()
    assert "k = 5" in readme and "HMAC-SHA256" in readme


def test_nothing_in_the_export_names_or_addresses_anyone(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    zf = download(client, cohort_with_talk)
    everything = "\n".join(zf.read(name).decode() for name in zf.namelist())
    assert "@" not in everything
    for name, email in Learner.objects.values_list("name", "email"):
        for part in [*name.split(), email, email.split("@")[0]]:
            assert part not in everything
    assert "Body text" not in everything and "Week 3" not in everything


def test_replies_and_activity_are_counted_per_learner_and_week(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    zf = download(client, cohort_with_talk)
    replies = read_csv(zf, "replies.csv")
    assert len(replies) == 2 and len({r["to"] for r in replies}) == 1
    assert sum(int(r["posts"]) for r in read_csv(zf, "activity.csv")) == 4
    learners = read_csv(zf, "learners.csv")
    assert len(learners) == 14  # confirmed and left; not the pending signup
    assert sum(1 for r in learners if r["leave_week"]) == 1


def test_pseudonyms_are_stable_within_an_export_and_differ_across_exports(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    first, second = download(client, cohort_with_talk), download(client, cohort_with_talk)
    names = {r["learner"] for r in read_csv(first, "learners.csv")}
    assert len(names) == 14
    assert {r["learner"] for r in read_csv(first, "activity.csv")} <= names
    replies = read_csv(first, "replies.csv")
    assert {r["from"] for r in replies} | {r["to"] for r in replies} <= names
    assert not names & {r["learner"] for r in read_csv(second, "learners.csv")}


def test_the_same_key_gives_the_same_pseudonyms(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    key = research.new_key()
    rows = [sorted(r["learner"] for r in read_csv(download(client, cohort_with_talk, key), "learners.csv"))
            for _ in range(2)]
    assert rows[0] == rows[1]


def test_small_groups_rare_zones_and_rare_languages_are_coarsened(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    learners = read_csv(download(client, cohort_with_talk), "learners.csv")
    combos = Counter((r["group"], r["utc_offset"], r["language"]) for r in learners)
    assert all(n >= research.K for n in combos.values())
    assert "ja" not in {r["language"] for r in learners}
    assert "UTC+5.5" not in {r["utc_offset"] for r in learners}
    assert {r["group"] for r in learners if r["language"] != "en"} == {SMALL}


def test_the_page_shows_a_new_key_each_time_and_stores_none(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    pages = [client.get(f"/dashboard/cohorts/{cohort_with_talk.slug}/research/") for _ in range(2)]
    keys = [p.content.decode().split("data-key>")[1][:64] for p in pages]
    assert keys[0] != keys[1] and all(len(k) == 64 for k in keys)
    assert "no-store" in pages[0]["Cache-Control"] or "no-cache" in pages[0]["Cache-Control"]


def test_a_download_is_audited_without_the_key(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    key = research.new_key()
    download(client, cohort_with_talk, key)
    entry = AuditEntry.objects.get(action="export.downloaded")
    assert entry.details["export"] == "research.zip" and key not in json.dumps(entry.details) + entry.summary


@pytest.mark.parametrize("key", ["", "00", "g" * 64, "A" * 64, "0" * 65, "0" * 63 + "\n", "x" * 100_000])
def test_a_bad_key_is_refused_and_nothing_is_recorded(client, organizer, cohort_with_talk, key):
    client.force_login(organizer)
    r = client.post(f"/dashboard/cohorts/{cohort_with_talk.slug}/research/export.zip", {"key": key})
    assert r.status_code == 400 and "Nothing was changed" in r.content.decode()
    assert not AuditEntry.objects.exists()


def test_only_organizers_export(client, facilitator, cohort_with_talk):
    client.force_login(facilitator)
    assert client.get(f"/dashboard/cohorts/{cohort_with_talk.slug}/research/").status_code == 403
    r = client.post(f"/dashboard/cohorts/{cohort_with_talk.slug}/research/export.zip", {"key": research.new_key()})
    assert r.status_code == 403 and not AuditEntry.objects.exists()


def test_the_download_needs_a_post(client, organizer, cohort_with_talk):
    client.force_login(organizer)
    assert client.get(f"/dashboard/cohorts/{cohort_with_talk.slug}/research/export.zip").status_code == 405


quasi = st.builds(Quasi, st.sampled_from(["g1", "g2", "g3", "g4", "none"]),
                  st.sampled_from([-8.0, -5.0, 0.0, 1.0, 5.5, 9.0, 13.0]), st.sampled_from(["en", "es", "ja", ""]))


@given(st.lists(quasi, max_size=60), st.integers(2, 6))
@settings(max_examples=300, deadline=None)
def test_every_combination_is_shared_by_k_learners_unless_the_cohort_is_smaller(rows, k):
    out = coarsen(rows, k)
    assert len(out) == len(rows)
    counts = Counter(out)
    for row, n in counts.items():
        assert n >= k or (len(rows) < k and row == Quasi(SMALL, ANY, ANY))
    for before, after in zip(rows, out, strict=True):
        assert after.group in (before.group, SMALL)
        assert after.language in (before.language, "other", ANY)
        assert after.offset in (before.offset, research.region(before.offset), ANY)
