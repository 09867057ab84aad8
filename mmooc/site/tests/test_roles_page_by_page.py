"""The role model, page by page (docs/roles.md): every staff URL for five kinds of visitor.

A site-wide organizer, an organizer limited to another cohort, the facilitator of group A,
a facilitator of no group, and someone not signed in. Objects outside what a visitor may see
are a 404 (their existence is not told); page kinds the role may not open are a 403. The
facilitator of group A never reads the name or address of anyone outside group A.

Every staff URL of the project must have a row in TABLE: adding a staff page without saying
who may open it fails `test_every_staff_url_has_a_row`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mmooc import testing
from mmooc.api.models import ApiToken
from mmooc.courses.models import Cohort, CohortOrganizer
from mmooc.emails.models import CourseEmail
from mmooc.groups import access
from mmooc.groups.models import Membership
from mmooc.hooks import events
from mmooc.hooks.models import Endpoint, HookDelivery
from mmooc.learners.models import Learner
from mmooc.lists.models import Post
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message

OK, FORBIDDEN, NOT_FOUND, LOGIN = "ok", 403, 404, "login"
PERSONAS = ("organizer", "organizer_of_y", "facilitator_of_a", "facilitator_of_none", "anonymous")
# Staff URLs live under these prefixes; some staff actions elsewhere are named here.
STAFF_PREFIXES = ("dashboard/", "outbox/")
STAFF_ELSEWHERE = {"lists:post_visibility", "lists:group_thread"}
NOT_STAFF = {"dashboard:login", "dashboard:logout"}  # the sign-in pages: everyone's

# (organizer, organizer of Y, facilitator of A, facilitator of none, anonymous)
SITEWIDE = (OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN)  # pages about every cohort at once
ORGANIZERS = (OK, NOT_FOUND, FORBIDDEN, FORBIDDEN, LOGIN)  # cohort X's organizer pages
COHORT = (OK, NOT_FOUND, OK, NOT_FOUND, LOGIN)  # cohort X's pages a facilitator of one of its groups reads
GROUP_B = (OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN)  # group B, its members and posts
EVERYONE = (OK, OK, OK, OK, LOGIN)

G, P = "GET", "POST"

# url name: [(method, object the URL names, expected per persona), ...]
TABLE: dict[str, list[tuple[str, str, tuple[Any, ...]]]] = {
    "dashboard:home": [(G, "none", EVERYONE)],
    "dashboard:audit": [(G, "none", SITEWIDE)],
    "dashboard:course_cost": [(G, "course", ORGANIZERS)],
    "dashboard:overview": [(G, "cohort", COHORT), (G, "cohort_y", (OK, OK, NOT_FOUND, NOT_FOUND, LOGIN))],
    "dashboard:cost": [(G, "cohort", ORGANIZERS)],
    "dashboard:exports": [(G, "cohort", ORGANIZERS)],
    "dashboard:export": [(G, "export_learners", ORGANIZERS), (G, "export_deliveries", ORGANIZERS)],
    "dashboard:export_mbox": [(G, "group_a_number", ORGANIZERS)],
    "dashboard:export_zip": [(G, "cohort", ORGANIZERS)],
    "dashboard:learners_export": [(G, "learners_export", ORGANIZERS)],
    "groups:grouping": [(G, "cohort", ORGANIZERS)],
    "groups:apply": [(P, "cohort", ORGANIZERS)],
    "groups:send_check": [(P, "cohort", ORGANIZERS)],
    "groups:check_cancel": [(P, "check", ORGANIZERS)],
    "groups:minimum_size": [(P, "cohort", ORGANIZERS)],
    "groups:list": [(G, "cohort", COHORT)],
    "groups:detail": [(G, "group_a_number", COHORT), (G, "group_b_number", GROUP_B)],
    "groups:member_move": [(P, "member_a", COHORT), (P, "member_b", GROUP_B)],
    "groups:member_remove": [(P, "member_a", COHORT), (P, "member_b", GROUP_B)],
    "groups:member_mute": [(P, "member_a", COHORT), (P, "member_b", GROUP_B)],
    "groups:facilitators": [(P, "group_a_number", ORGANIZERS)],
    "learners:staff_list": [(G, "cohort", COHORT)],
    "learners:staff_import": [(G, "cohort", ORGANIZERS)],
    "learners:staff_detail": [(G, "learner_a", COHORT), (G, "learner_b", GROUP_B), (G, "learner_alone", GROUP_B)],
    "emails:list": [(G, "cohort", COHORT)],
    "emails:new": [(G, "cohort", COHORT)],
    "emails:preview": [(P, "cohort", COHORT)],
    "emails:copy": [(P, "cohort", ORGANIZERS)],
    "emails:edit": [(G, "email", COHORT)],
    "emails:schedule": [(P, "email", ORGANIZERS)],
    "emails:cancel": [(P, "email", ORGANIZERS)],
    "emails:test": [(P, "email", ORGANIZERS)],
    "emails:duplicate": [(P, "email", ORGANIZERS)],
    "emails:plan": [(G, "draft", COHORT)],
    "emails:variant": [(G, "variant", COHORT)],
    "emails:module": [(G, "module", COHORT)],
    "emails:sending": [(G, "email_id", COHORT)],
    "emails:progress": [(G, "email_id", COHORT)],
    "emails:control": [(P, "email_pause", ORGANIZERS)],
    "site:upload": [(P, "cohort", ORGANIZERS)],
    "mailer:outbox": [(G, "none", SITEWIDE)],
    "mailer:outbox_message": [(G, "message", SITEWIDE)],
    "mailer:outbox_copy": [(G, "copy", SITEWIDE)],
    "mailer:outbox_source": [(G, "copy", SITEWIDE)],
    "mailer:outbox_reveal": [(P, "copy", SITEWIDE)],
    "mailer_suppression:index": [(G, "none", SITEWIDE)],
    "mailer_suppression:add": [(P, "none", SITEWIDE)],
    "mailer_suppression:remove": [(P, "none", SITEWIDE)],
    "mailer_suppression:import": [(P, "none", SITEWIDE)],
    "mailer_suppression:export": [(G, "none", SITEWIDE)],
    "mailer_suppression:resume_domain": [(P, "none", SITEWIDE)],
    "insights:health": [(G, "cohort", COHORT)],
    "insights:remedies": [(G, "cohort", ORGANIZERS)],
    "insights:apply": [(P, "cohort", ORGANIZERS)],
    "insights:research": [(G, "cohort", ORGANIZERS)],
    "insights:research_download": [(P, "cohort", ORGANIZERS)],
    "checkins:checkins": [(G, "cohort", COHORT)],
    "checkins:summary_switch": [(P, "cohort", ORGANIZERS)],
    "api_tokens:tokens": [(G, "none", SITEWIDE)],
    "api_tokens:token_revoke": [(P, "token", SITEWIDE)],
    "hooks:index": [(G, "none", SITEWIDE)],
    "hooks:add": [(P, "none", SITEWIDE)],
    "hooks:detail": [(G, "endpoint", SITEWIDE)],
    "hooks:edit": [(P, "endpoint", SITEWIDE)],
    "hooks:rotate": [(P, "endpoint", SITEWIDE)],
    "hooks:delete": [(P, "endpoint", SITEWIDE)],
    "hooks:redeliver": [(P, "hook_delivery", SITEWIDE)],
    "lists:post_visibility": [(P, "post_a", COHORT), (P, "post_b", GROUP_B)],
    "lists:group_thread": [(G, "post_a", COHORT), (G, "post_b", GROUP_B)],
    "moderation:queue": [(G, "cohort", COHORT)],
    "moderation:decide": [(P, "cohort", COHORT)],
    "moderation:first_post": [(P, "cohort", ORGANIZERS)],
}

# Whose name or address the facilitator of group A must never read.
A_MEMBER = ("Ada Aardvark", "ada.a@example.org")
OUTSIDERS = [("Bruno Bramble", "bruno.b@example.org"), ("Una Ungrouped", "una.u@example.org"),
             ("Yolanda Yew", "yolanda.y@example.org")]


@dataclass
class World:
    users: dict[str, User | None]
    kwargs: dict[str, dict[str, Any]]


def _staff_names() -> set[str]:
    """Every named URL under the staff prefixes, as namespace:name."""
    found: set[str] = set()

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                ns = ":".join(x for x in (namespace, p.namespace or "") if x)
                walk(p.url_patterns, route, ns)
            elif isinstance(p, URLPattern) and p.name:
                path = route.lstrip("^")
                if path.startswith(STAFF_PREFIXES) or path.startswith(tuple("^" + x for x in STAFF_PREFIXES)):
                    found.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_staff_url_has_a_row():
    names = (_staff_names() | STAFF_ELSEWHERE) - NOT_STAFF
    assert names, "no staff URL found: the walk over the URL patterns is broken"
    missing = sorted(names - set(TABLE))
    assert not missing, f"staff URLs with no row in TABLE (say who may open them): {missing}"
    gone = sorted(set(TABLE) - names)
    assert not gone, f"rows for URLs that no longer exist: {gone}"


@pytest.fixture
def world(db, settings) -> World:
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    course_x, course_y = testing.make_course("course-x"), testing.make_course("course-y")
    x, y = testing.make_cohort(course_x, "x-1"), testing.make_cohort(course_y, "y-1")
    group_a = testing.make_group(x, 1, name="Group A")
    group_b = testing.make_group(x, 2, name="Group B")
    group_y = testing.make_group(y, 1, name="Group Y")
    (a_name, a_mail), (b_name, b_mail), (u_name, u_mail), (y_name, y_mail) = [A_MEMBER, *OUTSIDERS]
    member_a = testing.add_member(group_a, a_mail, name=a_name)
    member_b = testing.add_member(group_b, b_mail, name=b_name)
    alone = testing.make_learner(x, u_mail, name=u_name)
    testing.add_member(group_y, y_mail, name=y_name)
    post_a = Post.objects.create(group=group_a, author_name=a_name, message_id="<a@example.org>",
                                 subject="From A", text="Hello from A", raw=b"x", size=1)
    post_b = Post.objects.create(group=group_b, author_name=b_name, message_id="<b@example.org>",
                                 subject="From B", text="Hello from B", raw=b"x", size=1)
    email = CourseEmail.objects.create(cohort=x, subject="Week 1", body="Hello {{ learner.name }}", day_offset=0,
                                       module=course_x.modules.get(position=1), audience={"kind": "all"})
    draft = CourseEmail.objects.create(cohort=x, subject="Week 2", body="Hello", day_offset=7,
                                       module=course_x.modules.get(position=2), audience={"kind": "all"})
    message = outbox.compose(kind=Message.TRANSACTIONAL, subject="Week 1", body="Hi", scope=x.scope)
    outbox.enqueue(message, [outbox.Recipient(b_mail, {}, ref=str(member_b.learner.public_id))])
    CourseEmail.objects.filter(pk=email.pk).update(message=message, state=CourseEmail.SENDING)
    copy = Delivery.objects.get(message=message)
    endpoint = Endpoint.objects.create(name="CRM", url="http://127.0.0.1:9/hook", events=["email.sent"])
    events.emit(events.EMAIL_SENT, {})
    hook_delivery = HookDelivery.objects.get(endpoint=endpoint)
    organizer = testing.make_organizer()
    organizer_of_y = testing.make_organizer("yves")
    CohortOrganizer.objects.create(user=organizer_of_y, cohort=y)
    token, _ = ApiToken.issue(name="CI", scope=ApiToken.READ, cohort=None, created_by=organizer)
    check = _group_check(x, organizer)
    users = {"organizer": organizer, "organizer_of_y": organizer_of_y,
             "facilitator_of_a": testing.facilitate(testing.make_facilitator("fay"), group_a),
             "facilitator_of_none": testing.make_facilitator("finn"), "anonymous": None}
    c = {"cohort": x.slug}
    kwargs = {
        "none": {}, "course": {"course": course_x.slug}, "cohort": c, "cohort_y": {"cohort": y.slug},
        "export_learners": {**c, "name": "learners.csv"}, "export_deliveries": {**c, "name": "deliveries.csv"},
        "learners_export": {**c, "fmt": "csv"},
        "group_a_number": {**c, "number": 1}, "group_b_number": {**c, "number": 2},
        "member_a": {**c, "number": 1, "membership_id": member_a.pk},
        "member_b": {**c, "number": 2, "membership_id": member_b.pk},
        "learner_a": {**c, "public_id": member_a.learner.public_id},
        "learner_b": {**c, "public_id": member_b.learner.public_id},
        "learner_alone": {**c, "public_id": alone.public_id},
        "email": {**c, "public_id": email.public_id}, "draft": {**c, "public_id": draft.public_id},
        "email_id": {"public_id": email.public_id},
        "email_pause": {"public_id": str(email.public_id), "action": "pause"},
        "variant": {**c, "public_id": email.public_id, "language": "es"},
        "module": {**c, "position": 1},
        "message": {"public_id": message.public_id},
        "copy": {"public_id": message.public_id, "delivery_id": copy.pk},
        "token": {"token_id": token.pk},
        "endpoint": {"public_id": endpoint.public_id},
        "hook_delivery": {"public_id": endpoint.public_id, "delivery_id": hook_delivery.pk},
        "post_a": {"public_id": group_a.public_id, "post_id": post_a.pk},
        "post_b": {"public_id": group_b.public_id, "post_id": post_b.pk},
        "check": {**c, "check_id": check.pk},
    }
    return World(users, kwargs)


def _group_check(cohort: Cohort, actor: User) -> Any:
    from mmooc.groups import check

    return check.send_group_check(cohort, actor=actor)


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _visit(client: Any, method: str, url: str) -> Any:
    """One request whose changes are undone, so that every row starts from the same world."""
    with transaction.atomic():
        response = client.get(url) if method == G else client.post(url, {})
        body = _body(response)
        transaction.set_rollback(True)
    return response, body


def _meets(expected: Any, method: str, response: Any) -> bool:
    location = response.get("Location", "")
    if expected == LOGIN:
        return response.status_code == 302 and location.startswith("/dashboard/login/")
    if expected == OK:
        if method == G:
            return response.status_code in (200, 204)  # 204: a part of a page with nothing to show
        return response.status_code in (200, 302, 400, 409) and not location.startswith("/dashboard/login/")
    return response.status_code == expected


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_staff_page_answers_each_role_as_the_table_says(client, world, persona):
    user = world.users[persona]
    if user is not None:
        client.force_login(user)
    wrong = []
    for name, rows in sorted(TABLE.items()):
        for method, obj, expected in rows:
            url = reverse(name, kwargs=world.kwargs[obj])
            response, body = _visit(client, method, url)
            want = expected[PERSONAS.index(persona)]
            if not _meets(want, method, response):
                wrong.append(f"{method} {url} ({name}, {obj}): {response.status_code}, expected {want}")
            if persona in ("facilitator_of_a", "facilitator_of_none"):
                seen = [text for who in OUTSIDERS for text in who if text in body]
                if persona == "facilitator_of_none":
                    seen += [text for text in A_MEMBER if text in body]
                if seen:
                    wrong.append(f"{method} {url} shows {seen} to {persona}")
    assert not wrong, "\n".join(wrong)


def test_the_facilitator_of_a_reads_group_a_and_its_members(client, world):
    client.force_login(world.users["facilitator_of_a"])
    for name, obj in (("groups:detail", "group_a_number"), ("learners:staff_list", "cohort"),
                      ("learners:staff_detail", "learner_a")):
        body = client.get(reverse(name, kwargs=world.kwargs[obj])).content.decode()
        assert A_MEMBER[0] in body and A_MEMBER[1] in body, name
    groups = client.get(reverse("groups:list", kwargs=world.kwargs["cohort"])).content.decode()
    assert "Group A" in groups and "Group B" not in groups
    home = client.get("/dashboard/").content.decode()
    assert "x-1" in home and "y-1" not in home


def test_the_facilitator_of_a_cannot_move_a_member_of_a_into_b(client, world):
    client.force_login(world.users["facilitator_of_a"])
    url = reverse("groups:member_move", kwargs=world.kwargs["member_a"])
    assert client.post(url, {"to_group": 2}).status_code == 400
    membership = Membership.objects.get(pk=world.kwargs["member_a"]["membership_id"])
    assert membership.left_at is None and membership.group.number == 1


def test_the_facilitator_of_a_cannot_remove_a_member_of_b_and_nothing_changes(client, world):
    client.force_login(world.users["facilitator_of_a"])
    url = reverse("groups:member_remove", kwargs=world.kwargs["member_b"])
    assert client.post(url).status_code == 404
    assert Membership.objects.get(pk=world.kwargs["member_b"]["membership_id"]).left_at is None


def test_an_organizer_limited_to_y_sees_only_y(client, world):
    client.force_login(world.users["organizer_of_y"])
    home = client.get("/dashboard/").content.decode()
    assert "y-1" in home and "x-1" not in home
    assert client.get(reverse("learners:staff_list", kwargs={"cohort": "y-1"})).status_code == 200
    assert "Yolanda Yew" in client.get(reverse("learners:staff_list", kwargs={"cohort": "y-1"})).content.decode()


def test_a_facilitator_whose_account_is_switched_off_sees_nothing(client, world):
    fay = world.users["facilitator_of_a"]
    assert fay is not None
    User.objects.filter(pk=fay.pk).update(is_active=False)
    client.force_login(fay)
    response = client.get(reverse("groups:detail", kwargs=world.kwargs["group_a_number"]))
    assert response.status_code != 200 and A_MEMBER[0] not in response.content.decode()
    assert not access.groups_for(User.objects.get(pk=fay.pk), Cohort.objects.get(slug="x-1")).exists()


def test_the_learner_count_of_a_facilitators_list_is_their_groups(client, world):
    client.force_login(world.users["facilitator_of_a"])
    body = client.get(reverse("learners:staff_list", kwargs=world.kwargs["cohort"])).content.decode()
    assert Learner.objects.filter(cohort__slug="x-1").count() == 3
    assert A_MEMBER[1] in body and all(mail not in body for _, mail in OUTSIDERS)
