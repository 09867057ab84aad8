"""The API outlook's send plan: recipients, domains, regions, duration, quotas and warnings."""

from __future__ import annotations

from mmooc import testing
from mmooc.emails.models import CourseEmail
from mmooc.mailer.models import Delivery

LOCAL = {"subject": "Week 1", "body": "Hello {{ learner.first_name }}!",
         "schedule": {"kind": "local", "day": 1, "time": "09:00"}}


def test_the_outlook_gives_the_send_plan_and_changes_nothing(api, cohort, settings):
    settings.MAIL_RATE_LIMIT = 1
    settings.PROVIDER_QUOTAS = {"day": 3, "domain_hour": 1}
    for i, zone in enumerate(["Europe/Berlin"] * 3 + ["America/Lima"] * 2):
        testing.make_learner(cohort, email=f"l{i}@{'gmail.com' if i < 4 else 'example.org'}", timezone=zone)
    email = api.post(f"/cohorts/{cohort.slug}/emails", LOCAL).json()["id"]
    data = api.get(f"/cohorts/{cohort.slug}/emails/{email}/outlook").json()
    assert (data["recipients"], data["copies"], data["rate"]) == (5, 5, 1.0)
    assert data["domains"] == [{"domain": "gmail.com", "copies": 4}, {"domain": "example.org", "copies": 1}]
    assert [(r["region"], r["copies"]) for r in data["regions"]] == [("Americas", 2), ("Europe", 3)]
    assert data["quotas"] == {"per_second": 0.0, "per_hour": 0, "per_day": 3, "per_domain_hour": 1,
                              "source": "MMOOC_PROVIDER_QUOTAS"}
    # Berlin's 3 copies use the first day's quota (at 1 a second); Lima's 2 wait a day, to
    # leave 24 hours after the first copy. gmail.com has 4 of the 5 copies: 2.4 of hour 0's 3
    # (shown rounded), over its 1 an hour, then 1.6 of hour 24's 2 with 0.4 still held: it
    # takes 1 in hour 24 and the last in hour 25, so the send is complete 25 hours after it starts.
    assert data["duration_seconds"] == 25 * 3600
    assert [w.split(":")[0] for w in data["warnings"]] == [
        "Exceeds the daily quota of 3 by 2 copies",
        "gmail.com gets 4 copies, up to 2 in one hour, more than the 1 an hour it takes"]
    assert data["past_due"] == 0 and data["collisions"] == []
    assert not Delivery.objects.exists() and CourseEmail.objects.get(public_id=email).state == CourseEmail.DRAFT
