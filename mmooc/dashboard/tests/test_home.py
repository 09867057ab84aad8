from __future__ import annotations

import pytest

from mmooc import testing
from mmooc.learners.models import Learner

pytestmark = pytest.mark.cohort(title="Spring", course={"title": "Gentle Python"})


@pytest.fixture(autouse=True)
def learners(cohort):
    """Three confirmed learners and one pending."""
    return [*(testing.make_learner(cohort) for _ in range(3)), testing.make_learner(cohort, state=Learner.PENDING)]


def test_it_lists_courses_and_cohorts_with_counts(client, organizer, cohort):
    testing.make_learner(testing.make_cohort())  # another cohort's learner
    client.force_login(organizer)
    r = client.get("/dashboard/")
    assert r.status_code == 200
    row = next(c for course in r.context["courses"] for c in course["cohorts"] if c["cohort"] == cohort)
    assert (row["counts"]["total"], row["counts"]["confirmed"], row["counts"]["pending"]) == (4, 3, 1)
    assert row["phase"] == ("signup-open", "Signup open")
    assert b"Gentle Python" in r.content and f"/dashboard/cohorts/{cohort.slug}/".encode() in r.content


def test_it_shows_the_audit_link_to_organizers_only(client, organizer, facilitator, cohort):
    client.force_login(organizer)
    assert b"/dashboard/audit/" in client.get("/dashboard/").content
    client.force_login(facilitator)
    r = client.get("/dashboard/")
    assert r.status_code == 200 and b"/dashboard/audit/" not in r.content


def test_it_refuses_an_outsider(client, outsider, cohort):
    client.force_login(outsider)
    assert client.get("/dashboard/").status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    r = client.get("/dashboard/")
    assert r.status_code == 302 and r["Location"] == "/dashboard/login/?next=/dashboard/"


def test_it_refuses_post(client, organizer, db):
    client.force_login(organizer)
    assert client.post("/dashboard/").status_code == 405


def test_a_cohort_ten_days_into_its_run_is_labelled_running(client, organizer):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    running = testing.make_cohort(slug="py-run", start=(now - timedelta(days=10)).date(),
                                  signup_closes=now + timedelta(days=20))
    client.force_login(organizer)
    home = client.get("/dashboard/").content.decode()
    overview = client.get(f"/dashboard/cohorts/{running.slug}/").content.decode()
    for page in (home, overview):
        assert '<span class="badge phase-running">Running, week 2, signup open</span>' in page
