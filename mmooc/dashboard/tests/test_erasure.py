"""After "delete my data", the learner's name and address are nowhere: tables, raw posts, exports."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from mmooc.dashboard import exports
from mmooc.learners import lifecycle
from mmooc.learners.models import Learner
from mmooc.lists import relay
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.testing import add_member, make_group

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]

ADDRESS, NAME = "alice.erased@example.org", "Alice Zebedee"


def _texts(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (bytes, memoryview)):
        return [bytes(value).decode("utf-8", "replace")]
    if isinstance(value, (dict, list)):
        return [json.dumps(value, ensure_ascii=False)]
    return [str(value)]


def rows_naming(*needles: str) -> list[str]:
    """Every (model, field) whose stored text holds one of the needles, case-insensitively."""
    found = []
    kinds = (models.CharField, models.TextField, models.JSONField, models.BinaryField)
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, kinds)]
        if not fields:
            continue
        for row in model.objects.values_list(*[f.attname for f in fields]):
            for field, value in zip(fields, row, strict=True):
                for text in _texts(value):
                    if any(n.lower() in text.lower() for n in needles):
                        found.append(f"{model._meta.label}.{field.name}")
    return sorted(set(found))


@pytest.fixture
def group(db):
    from mmooc.testing import make_cohort

    group = make_group(make_cohort(slug="py-3"), 1)
    add_member(group, ADDRESS, name=NAME)
    add_member(group, "bob@example.org", name="Bob Jones")
    add_member(group, "carol@example.org", name="Carol Diaz")
    return group


def _post(group, sender, name, **kw):
    raw = raw_post(sender=sender, name=name, to=group.address, **kw)
    [outcome] = relay.receive(raw, sender, [group.address])
    assert outcome.accepted


def test_erasing_a_learner_who_posted_leaves_their_name_and_address_nowhere(group, django_capture_on_commit_callbacks):
    _post(group, ADDRESS, NAME, subject="Week 1", headers={
        "Sender": f"{NAME} <{ADDRESS}>", "Reply-To": f'"{NAME}" <{ADDRESS}>',
        "Received": f"from mail.example.org by mx.course.example.org for <{ADDRESS}>; Mon, 2 Nov 2026 10:00:00 +0000",
        "X-Envelope-From": ADDRESS})
    _post(group, "bob@example.org", "Bob Jones", subject="Re: Week 1")
    engine.drain()
    alice = Learner.objects.get(email=ADDRESS)
    assert rows_naming(ADDRESS, NAME)  # the check finds them before

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.erase(alice)

    assert rows_naming(ADDRESS, NAME) == []
    cohort = group.cohort
    mbox = b"".join(exports.mbox(group)).decode("utf-8", "replace").lower()
    assert ADDRESS not in mbox and NAME.lower() not in mbox
    assert mbox.count("from: ") == 2  # both posts are still there
    for text in [*exports.learners_csv(cohort), *exports.learners_json(cohort), *exports.deliveries_csv(cohort)]:
        assert ADDRESS not in text.lower() and NAME.lower() not in text.lower()
    with zipfile.ZipFile(io.BytesIO(exports.cohort_zip(cohort, timezone.now()).read())) as zf:
        for name in zf.namelist():
            data = zf.read(name).decode("utf-8", "replace").lower()
            assert ADDRESS not in data and NAME.lower() not in data, name
    mine = Post.objects.get(subject="Week 1")
    assert b'From: "A member" <erased@' in bytes(mine.raw)
    assert mine.text.startswith("Hi all")


def test_replies_that_quote_an_erased_learner_stay_as_they_are(group, django_capture_on_commit_callbacks):
    _post(group, ADDRESS, NAME, subject="Week 1")
    quote = f"On Monday {NAME} <{ADDRESS}> wrote:\n> Hi all"
    _post(group, "bob@example.org", "Bob Jones", subject="Re: Week 1", body=quote)
    reply = Post.objects.get(subject="Re: Week 1")
    before = bytes(reply.raw)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.erase(Learner.objects.get(email=ADDRESS))
    reply.refresh_from_db()
    assert bytes(reply.raw) == before


def test_a_short_name_or_one_in_the_message_id_leaves_the_post_readable_and_threaded():
    from mmooc.lists.erasure import Identity, scrub

    raw = raw_post(sender=ADDRESS, name="Al", message_id="<zebedee-1@mail.example.org>",
                   body="Hi all, Al here.")
    who = Identity(["Al", "Zebedee"], [ADDRESS])
    out = scrub(raw, who, '"A member" <erased@lists.example.org>', "erased@lists.example.org")
    assert b"Message-ID: <zebedee-1@mail.example.org>" in out
    assert b'From: "A member" <erased@lists.example.org>' in out
    assert b"Return-Path" not in out and ADDRESS.encode() not in out
    assert out.endswith(b"\r\n\r\nHi all, Al here.\r\n")


def test_erasing_keeps_only_a_keyed_hash_of_the_address_on_the_suppression_list(
        group, organizer, client, django_capture_on_commit_callbacks):
    from mmooc.audit.log import record
    from mmooc.learners.models import Unsubscribe
    from mmooc.mailer import outbox, suppression
    from mmooc.mailer.models import Delivery, Suppression

    alice = Learner.objects.get(email=ADDRESS)
    other = "alice.other@example.org"
    lifecycle.add_alias(alice, other)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.unsubscribe(alice, Unsubscribe.SITE, Unsubscribe.ONE_CLICK)  # stop all mail: both addresses
    suppression.forget([])  # nothing asked, nothing changed
    Suppression.objects.filter(address=other).update(detail=f"550 5.1.1 <{other.upper()}>: user unknown")
    record(organizer, "member.muted", None, f"{ADDRESS} muted by {NAME}", address=ADDRESS)
    assert {"mailer.Suppression.address", "audit.AuditEntry.summary"} <= set(rows_naming(ADDRESS, NAME, other))

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.erase(alice)

    assert rows_naming(ADDRESS, NAME, other) == []
    assert Suppression.objects.count() == 2 and all(s.hashed for s in Suppression.objects.all())
    assert Suppression.objects.get(address=suppression.keyed_hash(other)).detail == "550 5.1.1 <[erased]>: user unknown"
    # "Never mail me again" still holds, for the address and the other one, whatever their case.
    assert outbox.is_suppressed(ADDRESS.upper()) and outbox.is_suppressed(other)
    assert suppression.suppressed_among([ADDRESS, other, "bob@example.org"]) == {ADDRESS, other}
    outbox.send(to=ADDRESS, subject="Hello again", body="Hi")
    engine.drain()
    assert Delivery.objects.get(message__subject="Hello again").status == Delivery.SUPPRESSED
    # Staff see the row for what it is, and find it by the whole address only.
    client.force_login(organizer)
    page = client.get("/dashboard/suppressions/").content.decode()
    assert "erased learner (hashed)" in page and ADDRESS not in page
    assert "erased learner (hashed)" in client.get("/dashboard/suppressions/", {"q": ADDRESS}).content.decode()
    assert "erased learner (hashed)" not in client.get("/dashboard/suppressions/", {"q": "alice"}).content.decode()
    export = b"".join(client.get("/dashboard/suppressions/export.csv").streaming_content).decode()
    assert export.count("erased learner (hashed)") == 2 and "hmac" not in export


def test_an_erased_learners_hashed_row_answers_a_second_suppress_and_a_second_erasure(group):
    from mmooc.mailer import suppression
    from mmooc.mailer.models import Suppression

    suppression.suppress(ADDRESS, Suppression.COMPLAINT, "spam")
    lifecycle.erase(Learner.objects.get(email=ADDRESS))
    again = suppression.suppress(ADDRESS.upper(), Suppression.MANUAL, "asked")
    assert again.hashed and again.reason == Suppression.COMPLAINT and Suppression.objects.count() == 1
    # A second erasure of the same address (another signup) keeps one hashed row.
    Suppression.objects.create(address=ADDRESS, reason=Suppression.HARD_BOUNCE)
    assert suppression.forget([ADDRESS]) == 1
    assert list(Suppression.objects.values_list("address", flat=True)) == [suppression.keyed_hash(ADDRESS)]
