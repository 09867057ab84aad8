"""The implementation against its OpenAPI description: every operation is called for every status
code it documents, and each answer is checked against the schema given for that status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest

from mmooc import testing
from mmooc.api.api import api as ninja_api
from mmooc.api.api import urls
from mmooc.api.models import ApiToken
from mmooc.checkins.models import CheckIn
from mmooc.learners.models import Learner
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer.models import Suppression

urls()
SCHEMA = json.loads(json.dumps(ninja_api.get_openapi_schema(path_prefix="/api/v1")))  # as served
OPERATIONS = [(method, route, op) for route, methods in SCHEMA["paths"].items() for method, op in methods.items()]
EMAIL = {"subject": "Week 1", "body": "Hello {{ learner.first_name }}", "schedule": {"kind": "local", "day": 1,
                                                                                   "time": "09:00"}}


def name(op: dict[str, Any]) -> str:
    return str(op["operationId"]).rsplit("_endpoints_", 1)[-1]


@dataclass
class Call:
    path: dict[str, str] = field(default_factory=dict)  # path parameters
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)


def world(cohort: Any, api: Any) -> dict[str, Any]:
    """One of each object the operations act on."""
    w: dict[str, Any] = {"cohort": cohort.slug, "course": cohort.course.slug}
    w["pending"] = str(testing.make_learner(cohort, state=Learner.PENDING).public_id)
    w["left"] = str(testing.make_learner(cohort, state=Learner.LEFT).public_id)
    w["confirmed"] = str(testing.make_learner(cohort).public_id)
    w["draft"] = api.post(f"/cohorts/{cohort.slug}/emails", EMAIL).json()["id"]
    w["broken"] = api.post(f"/cohorts/{cohort.slug}/emails", {**EMAIL, "body": "{{ nope }}"}).json()["id"]
    w["sending"] = api.post(f"/cohorts/{cohort.slug}/emails", EMAIL).json()["id"]
    api.post(f"/cohorts/{cohort.slug}/emails/{w['sending']}/schedule")
    w["cancelled"] = api.post(f"/cohorts/{cohort.slug}/emails", EMAIL).json()["id"]
    api.post(f"/cohorts/{cohort.slug}/emails/{w['cancelled']}/cancel")
    Suppression.objects.create(address="gone@example.org", reason=Suppression.MANUAL)
    group = testing.make_group(cohort, 1, members=["m0@example.org", "m1@example.org"])
    w["post"] = str(Post.objects.create(group=group, message_id="<p1@example.org>", subject="Hi", raw=b"x").pk)
    member = group.memberships.first().learner
    w["held"] = str(Post.objects.create(
        group=group, author=member, author_name="M0", message_id="<held@example.org>", subject="Held", text="Hello",
        raw=raw_post(sender=member.email, to=group.address, message_id="<held@example.org>"), held=True,
        held_reason="Mailgun judged it spam").pk)
    CheckIn.objects.create(learner=group.memberships.first().learner, cohort=cohort, group=group, week=1,
                           status="done", source=CheckIn.GROUP)
    return w


def success(op: str, w: dict[str, Any]) -> Call:
    c = {"cohort": w["cohort"]}
    return {
        "list_courses": Call(), "get_course": Call({"course": w["course"]}), "list_cohorts": Call(),
        "get_cohort": Call(c), "list_learners": Call(c, query={"limit": 1}),
        "get_learner": Call({**c, "learner_id": w["confirmed"]}),
        "import_learners": Call(c, {"learners": [{"email": "new@example.org"}]}),
        "create_learner": Call(c, {"email": "new@example.org", "consented": True}),
        "confirm_learner": Call({**c, "learner_id": w["pending"]}),
        "leave_learner": Call({**c, "learner_id": w["confirmed"]}),
        "erase_learner": Call({**c, "learner_id": w["confirmed"]}),
        "list_emails": Call(c), "get_email": Call({**c, "email_id": w["draft"]}),
        "create_email": Call(c, EMAIL), "update_email": Call({**c, "email_id": w["draft"]}, {"subject": "New"}),
        "schedule_email": Call({**c, "email_id": w["draft"]}), "cancel_email": Call({**c, "email_id": w["sending"]}),
        "pause_email": Call({**c, "email_id": w["sending"]}),
        "resume_email": Call({**c, "email_id": w["sending"]}),  # paused first: see prepare()
        "email_progress": Call({**c, "email_id": w["sending"]}),
        "list_groups": Call(c), "list_members": Call({**c, "number": "1"}),
        "preview_groups": Call(c, query={"size": 4}), "apply_groups": Call(c, {"size": 4}),
        "move_learner": Call({**c, "learner_id": w["confirmed"]}, {"group": 1}),
        "email_outlook": Call({**c, "email_id": w["draft"]}),
        "list_posts": Call({**c, "number": "1"}, query={"limit": 1}),
        "hide_post": Call({**c, "number": "1", "post_id": w["post"]}),
        "show_post": Call({**c, "number": "1", "post_id": w["post"]}),
        "list_checkins": Call(c, query={"limit": 1, "week": 1}),
        "list_held": Call(c, query={"limit": 1}),
        "approve_post": Call({**c, "post_id": w["held"]}),
        "reject_post": Call({**c, "post_id": w["held"]}, {"note": "Not for the group."}),
        "list_suppressions": Call(), "add_suppression": Call(body={"address": "x@example.org", "detail": "asked"}),
        "remove_suppression": Call({"address": "gone@example.org"}, {"reason": "asked again"}),
    }[op]


def conflicting(op: str, w: dict[str, Any], api: Any) -> Call:
    c = {"cohort": w["cohort"]}
    if op == "create_learner":
        return Call(c, {"email": "dup@example.org"}) if _made(api, w, "dup@example.org") else Call()
    return {
        "confirm_learner": Call({**c, "learner_id": w["left"]}),
        "move_learner": Call({**c, "learner_id": w["left"]}, {"group": 1}),
        "update_email": Call({**c, "email_id": w["sending"]}, {"subject": "New"}),
        "schedule_email": Call({**c, "email_id": w["broken"]}),
        "cancel_email": Call({**c, "email_id": w["cancelled"]}),
        "pause_email": Call({**c, "email_id": w["draft"]}), "resume_email": Call({**c, "email_id": w["draft"]}),
        "approve_post": Call({**c, "post_id": w["post"]}),  # not held
        "reject_post": Call({**c, "post_id": w["post"]}),
    }[op]


def _made(api: Any, w: dict[str, Any], address: str) -> bool:
    return bool(api.post(f"/cohorts/{w['cohort']}/learners", {"email": address}).status_code == 201)


def not_found(call: Call) -> Call:
    path = {k: ("nope" if k in ("cohort", "course") else "9" if k == "number" else "999999999" if k == "post_id"
                else "00000000-0000-0000-0000-000000000000") for k in call.path}
    if "address" in call.path:
        path = {"address": "nobody@example.org"}
    elif "cohort" in call.path and len(call.path) > 1:
        path = {**call.path, **{k: v for k, v in path.items() if k != "cohort"}}
    return Call(path, call.body, call.query)


def url(route: str, call: Call) -> str:
    path = route
    for key, value in call.path.items():
        path = path.replace("{" + key + "}", value)
    return path.removeprefix("/api/v1")


def send(client: Any, method: str, route: str, call: Call, **headers: str) -> Any:
    path = url(route, call)
    if method == "get":
        return client.get(path, call.query, **headers)
    if method == "patch":
        return client.patch(path, call.body or {}, **headers)
    return client.post(path, call.body or {}, **headers)


def check(resp: Any, op: dict[str, Any], status: int) -> None:
    assert resp.status_code == status, (status, resp.content[:300])
    documented = op["responses"][str(status)]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**documented, "components": SCHEMA["components"]})
    errors = list(validator.iter_errors(json.loads(resp.content)))
    assert not errors, [e.message for e in errors]


CASES = [(m, r, op, int(status)) for m, r, op in OPERATIONS for status in op["responses"]]


def test_the_description_is_openapi_3_1_with_every_operation_secured():
    assert SCHEMA["openapi"].startswith("3.1")
    assert SCHEMA["components"]["securitySchemes"] == {"TokenAuth": {"type": "http", "scheme": "bearer"}}
    assert all(op.get("security") == [{"TokenAuth": []}] for _m, _r, op in OPERATIONS)
    assert len(OPERATIONS) >= 20


def test_it_is_served(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.json()["paths"].keys() == SCHEMA["paths"].keys()


@pytest.mark.parametrize("method,route,op,status", CASES, ids=[f"{name(c[2])}-{c[3]}" for c in CASES])
def test_every_documented_answer(method, route, op, status, cohort, make_client, settings):
    writer = make_client()
    w = world(cohort, writer)
    call = success(name(op), w)
    if name(op) == "resume_email":
        writer.post(f"/cohorts/{w['cohort']}/emails/{w['sending']}/pause")
    writes = method != "get"
    client = writer
    headers: dict[str, str] = {}
    if status in (200, 201):
        pass
    elif status == 401:
        client = make_client()
        ApiToken.objects.filter(pk=client.token.pk).update(revoked_at="2026-01-01T00:00:00Z")
    elif status == 429:
        settings.API_RATE = 0
    elif status == 403:
        client = make_client(scope=ApiToken.READ) if writes else make_client(cohort=cohort)
    elif status == 404:
        call = not_found(call)
    elif status == 400:
        if method == "post":
            headers = {"Idempotency-Key": "k" * 300}
        elif method == "patch":
            call = Call(call.path, {"subject": "two\nlines"})
        else:
            call = Call(call.path, query={"limit": 0, "size": 0})
    elif status == 422:
        send(writer, method, route, call, **{"Idempotency-Key": "once"})
        call = Call(call.path, {**(call.body or {}), "other": 1})
        headers = {"Idempotency-Key": "once"}
    elif status == 409:
        call = conflicting(name(op), w, writer)
    check(send(client, method, route, call, **headers), op, status)
