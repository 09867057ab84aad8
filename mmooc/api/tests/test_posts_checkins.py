"""Posts per group (list, hide, show), check-ins, and the outlook that asks before sending at once."""

from __future__ import annotations

from django.utils import timezone

from mmooc import testing
from mmooc.api.models import ApiToken
from mmooc.api.tests.conftest import error_code
from mmooc.audit.models import AuditEntry
from mmooc.checkins import parsing
from mmooc.checkins.models import CheckIn
from mmooc.emails.models import CourseEmail
from mmooc.lists.models import Post
from mmooc.mailer.models import Delivery

NOW = {"subject": "Week 1", "body": "Hello {{ learner.first_name }}!", "schedule": {"kind": "now"}}


def group_with_posts(cohort, n=3):
    group = testing.make_group(cohort, 1, members=[f"m{i}@example.org" for i in range(3)])
    author = group.memberships.first().learner
    posts = [Post.objects.create(group=group, author=author, author_name="Ada", message_id=f"<p{i}@example.org>",
                                 subject=f"Post {i}", text="secret body", raw=b"raw") for i in range(n)]
    return group, posts


def test_posts_are_listed_page_by_page_without_their_bodies(api, cohort):
    group, posts = group_with_posts(cohort)
    first = api.get(f"/cohorts/{cohort.slug}/groups/1/posts", {"limit": 2}).json()
    assert [p["subject"] for p in first["data"]] == ["Post 0", "Post 1"] and first["has_more"]
    rest = api.get(f"/cohorts/{cohort.slug}/groups/1/posts", {"cursor": first["next_cursor"]}).json()
    assert [p["subject"] for p in rest["data"]] == ["Post 2"] and not rest["has_more"]
    assert "secret body" not in str(first) and first["data"][0]["author"] == str(posts[0].author.public_id)


def test_hiding_and_showing_a_post_is_audited_and_a_read_only_token_may_not(api, cohort, make_client):
    group, posts = group_with_posts(cohort, 1)
    url = f"/cohorts/{cohort.slug}/groups/1/posts/{posts[0].pk}"
    reader = make_client(scope=ApiToken.READ)
    assert reader.post(url + "/hide").status_code == 403
    assert not Post.objects.get().hidden
    resp = api.post(url + "/hide")
    assert resp.status_code == 200 and resp.json()["hidden"] is True and Post.objects.get().hidden
    assert api.post(url + "/show").json()["hidden"] is False and not Post.objects.get().hidden
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("pk")) == ["post.hidden", "post.shown"]
    assert AuditEntry.objects.first().details["via"] == "api"


def test_a_post_of_another_group_or_cohort_is_not_found(api, cohort, make_client):
    group, posts = group_with_posts(cohort, 1)
    other = testing.make_group(cohort, 2)
    resp = api.post(f"/cohorts/{cohort.slug}/groups/{other.number}/posts/{posts[0].pk}/hide")
    assert (resp.status_code, error_code(resp)) == (404, "post_not_found")
    elsewhere = make_client(cohort=testing.make_cohort(slug="other-cohort"))
    assert elsewhere.get(f"/cohorts/{cohort.slug}/groups/1/posts").status_code == 404
    assert not Post.objects.get().hidden


def test_check_ins_are_listed_and_filtered_by_week_and_status(api, cohort):
    group, _ = group_with_posts(cohort, 0)
    a, b = [m.learner for m in group.memberships.all()[:2]]
    for learner, week, status in ((a, 1, parsing.DONE), (a, 2, parsing.STUCK), (b, 2, parsing.DONE)):
        CheckIn.objects.create(learner=learner, cohort=cohort, group=group, week=week, status=status,
                               topic="recursion" if status == parsing.STUCK else "", source=CheckIn.GROUP)
    everything = api.get(f"/cohorts/{cohort.slug}/checkins").json()["data"]
    assert len(everything) == 3
    week2 = api.get(f"/cohorts/{cohort.slug}/checkins", {"week": 2, "status": "stuck"}).json()["data"]
    assert week2 == [{**week2[0], "learner": str(a.public_id), "group": 1, "week": 2, "status": "stuck",
                      "topic": "recursion", "source": "group"}]
    resp = api.get(f"/cohorts/{cohort.slug}/checkins", {"status": "maybe"})
    assert (resp.status_code, error_code(resp)) == (400, "invalid_status")


def test_sending_many_copies_at_once_needs_their_count_and_then_waits_for_the_undo_window(api, cohort, settings):
    for i in range(12):
        testing.make_learner(cohort, email=f"l{i}@example.org")
    email = api.post(f"/cohorts/{cohort.slug}/emails", NOW).json()["id"]
    outlook = api.get(f"/cohorts/{cohort.slug}/emails/{email}/outlook").json()
    assert (outlook["copies"], outlook["soon"], outlook["needs_confirmation"]) == (12, 12, True)
    refused = api.post(f"/cohorts/{cohort.slug}/emails/{email}/schedule")
    assert (refused.status_code, error_code(refused)) == (409, "confirmation_required")
    assert "Send 12 copies now?" in refused.json()["error"]["message"]
    wrong = api.post(f"/cohorts/{cohort.slug}/emails/{email}/schedule?confirm_send_now=11")
    assert (wrong.status_code, error_code(wrong)) == (409, "confirmation_required")
    assert not Delivery.objects.exists() and CourseEmail.objects.get(public_id=email).state == CourseEmail.DRAFT
    done = api.post(f"/cohorts/{cohort.slug}/emails/{email}/schedule?confirm_send_now=12")
    assert done.status_code == 200 and done.json()["recipients"] == 12
    assert not Delivery.objects.filter(not_before__lte=timezone.now()).exists()  # the undo window
