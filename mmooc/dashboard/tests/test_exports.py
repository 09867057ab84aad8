from __future__ import annotations

import csv
import io
import json
import mailbox
import zipfile

import pytest
from django.utils import timezone

from mmooc.audit.models import AuditEntry
from mmooc.groups.models import Membership
from mmooc.lists.models import Post
from mmooc.mailer.models import Delivery, Event, Message
from mmooc.testing import join, make_cohort, make_group, make_learner

pytestmark = pytest.mark.cohort_data(n=150, groups=4)


def base(data):
    return f"/dashboard/cohorts/{data.cohort.slug}/export/"


def download(client, url):
    r = client.get(url)
    assert r.status_code == 200, r
    assert r.streaming and r["Content-Disposition"].startswith("attachment;")
    return b"".join(r.streaming_content)


def group_numbers(data):
    return {m.learner_id: m.group.number for m in Membership.objects.filter(left_at__isnull=True)
            .select_related("group")}


def test_it_exports_learners_as_csv(client, organizer, data):
    client.force_login(organizer)
    rows = list(csv.DictReader(io.StringIO(download(client, base(data) + "learners.csv").decode())))
    assert [r["public_id"] for r in rows] == [str(x.public_id) for x in data.learners]
    numbers = group_numbers(data)
    for row, learner in zip(rows, data.learners, strict=True):
        expected = (learner.email, learner.state, learner.timezone)
        assert (row["email"], row["state"], row["timezone"]) == expected
        assert row["group_number"] == str(numbers.get(learner.pk, ""))
        assert json.loads(row["answers"]) == learner.answers


def test_it_exports_learners_as_json(client, organizer, data):
    client.force_login(organizer)
    rows = json.loads(download(client, base(data) + "learners.json"))
    assert len(rows) == len(data.learners)
    assert rows[0]["email"] == data.learners[0].email and rows[0]["answers"] == data.learners[0].answers
    assert {r["wants_group"] for r in rows} == {True, False}


def test_it_exports_groups_with_their_members(client, organizer, data):
    client.force_login(organizer)
    rows = list(csv.DictReader(io.StringIO(download(client, base(data) + "groups.csv").decode())))
    members = Membership.objects.filter(left_at__isnull=True).select_related("group", "learner")
    assert sorted((r["group_number"], r["learner_email"]) for r in rows) == sorted(
        (str(m.group.number), m.learner.email) for m in members)


def test_it_exports_deliveries_with_one_row_per_event(client, organizer, data):
    client.force_login(organizer)
    rows = list(csv.DictReader(io.StringIO(download(client, base(data) + "deliveries.csv").decode())))
    deliveries = Delivery.objects.filter(message__scope=f"cohort:{data.cohort.pk}")
    events = Event.objects.filter(delivery__in=deliveries)
    without = deliveries.exclude(pk__in=events.values("delivery_id")).count()
    assert len(rows) == events.count() + without
    assert "stranger@example.org" not in {r["recipient"] for r in rows}  # another cohort's mail
    opened = [r for r in rows if r["event_type"] == "opened"]
    assert len(opened) == events.filter(event_type="opened").count()
    # Each copy's Message-ID as it went out, whether kept in its row or made from the ids.
    ids = {d.header_message_id() for d in deliveries.select_related("message")}
    assert {r["rfc_message_id"] for r in rows} == ids and "" not in ids
    assert {d.rfc_message_id for d in deliveries} > {""}


def test_it_exports_a_group_archive_as_mbox(client, organizer, data, tmp_path):
    client.force_login(organizer)
    path = tmp_path / "group.mbox"
    path.write_bytes(download(client, base(data) + "group-1.mbox"))
    box = mailbox.mbox(str(path))
    posts = list(Post.objects.filter(group=data.groups[0]).order_by("received_at"))
    assert [m["Message-ID"] for m in box] == [p.message_id for p in posts]
    body = box[0].get_payload()
    # the body lines that start with "From " are quoted, so they did not split the message
    assert ">From the start of a line" in body and ">>From quoted" in body


def test_it_exports_everything_as_a_zip_with_a_readme(client, organizer, data, tmp_path):
    client.force_login(organizer)
    archive = zipfile.ZipFile(io.BytesIO(download(client, base(data) + "cohort.zip")))
    names = set(archive.namelist())
    assert {"README.txt", "learners.csv", "learners.json", "groups.csv", "deliveries.csv"} <= names
    assert {f"archives/group-{g.number}.mbox" for g in data.groups} <= names
    readme = archive.read("README.txt").decode()
    for name in ["learners.csv", "learners.json", "groups.csv", "deliveries.csv", "group-N.mbox"]:
        assert name in readme
    learners = list(csv.DictReader(io.StringIO(archive.read("learners.csv").decode())))
    assert len(learners) == len(data.learners)
    assert len(json.loads(archive.read("learners.json"))) == len(data.learners)


@pytest.mark.parametrize("name", ["learners.csv", "learners.json", "groups.csv", "deliveries.csv",
                                  "group-1.mbox", "cohort.zip"])
def test_it_records_each_download(client, organizer, data, name):
    client.force_login(organizer)
    download(client, base(data) + name)
    entry = AuditEntry.objects.get(action="export.downloaded")
    assert entry.actor == organizer and entry.details["export"] == name


@pytest.mark.parametrize("name", ["", "learners.csv", "learners.json", "groups.csv", "deliveries.csv",
                                  "group-1.mbox", "cohort.zip"])
def test_it_refuses_a_facilitator(client, facilitator, data, name):
    client.force_login(facilitator)
    assert client.get(base(data) + name).status_code == 403
    assert not AuditEntry.objects.exists()


def test_it_refuses_an_outsider(client, outsider, data):
    client.force_login(outsider)
    assert client.get(base(data) + "learners.csv").status_code == 403
    assert not AuditEntry.objects.exists()


def test_it_sends_anonymous_visitors_to_sign_in(client, data):
    assert client.get(base(data) + "cohort.zip").status_code == 302


def test_it_answers_404_for_unknown_files(client, organizer, data):
    client.force_login(organizer)
    assert client.get(base(data) + "passwords.csv").status_code == 404
    assert client.get(base(data) + "group-99.mbox").status_code == 404
    assert not AuditEntry.objects.exists()


def test_it_refuses_post(client, organizer, data):
    client.force_login(organizer)
    assert client.post(base(data) + "learners.csv").status_code == 405
    assert client.post(base(data) + "cohort.zip").status_code == 405
    assert not AuditEntry.objects.exists()


def test_it_lists_the_exports_for_an_organizer(client, organizer, data):
    client.force_login(organizer)
    r = client.get(base(data))
    assert r.status_code == 200 and b"cohort.zip" in r.content and b"group-4.mbox" in r.content


# The learner list's export links (/learners/export.csv|json) serve the same files.


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_learner_list_links_serve_the_learners_export(client, organizer, data, fmt):
    client.force_login(organizer)
    old = download(client, f"/dashboard/cohorts/{data.cohort.slug}/learners/export.{fmt}")
    assert old == download(client, base(data) + f"learners.{fmt}")
    entries = AuditEntry.objects.filter(action="export.downloaded").order_by("id")
    assert [e.details["export"] for e in entries] == [f"learners.{fmt}"] * 2


def test_the_learners_csv_quotes_names_and_keeps_answers(client, organizer):
    cohort = make_cohort()
    make_learner(cohort, "ada@example.org", name="Ada, \"the\" Countess", answers={"why": "ünïcode"})
    make_learner(make_cohort(), "other@example.org")
    client.force_login(organizer)
    rows = list(csv.DictReader(io.StringIO(download(client, f"/dashboard/cohorts/{cohort.slug}/export/learners.csv")
                                           .decode())))
    assert [r["email"] for r in rows] == ["ada@example.org"]
    assert rows[0]["name"] == 'Ada, "the" Countess' and json.loads(rows[0]["answers"]) == {"why": "ünïcode"}


def test_the_learner_list_links_are_for_organizers_only(client, facilitator, data):
    client.force_login(facilitator)
    assert client.get(f"/dashboard/cohorts/{data.cohort.slug}/learners/export.csv").status_code == 403
    assert not AuditEntry.objects.exists()


def test_the_learner_list_links_know_only_csv_and_json(client, organizer, data):
    client.force_login(organizer)
    assert client.get(f"/dashboard/cohorts/{data.cohort.slug}/learners/export.xml").status_code == 404
    assert client.post(f"/dashboard/cohorts/{data.cohort.slug}/learners/export.csv").status_code == 405
    assert not AuditEntry.objects.exists()


FORMULA = '=HYPERLINK("http://evil.example","x")'


def test_no_export_lets_a_spreadsheet_run_a_learner_s_text_as_a_formula(client, organizer):
    cohort = make_cohort()
    group = make_group(cohort, name="@group")
    learner = make_learner(cohort, "eve@example.org", name=FORMULA)
    join(group, learner)
    message = Message.objects.create(kind=Message.SUBSCRIBED, scope=cohort.scope, tag="course-email",
                                     from_email="team@course.example.org", subject="-1+2")
    delivery = Delivery.objects.create(message=message, recipient=learner.email_key, status=Delivery.FAILED,
                                       last_error="\t=1+1", rfc_message_id="<x@course.example.org>")
    Event.objects.create(provider="test", event_type="bounced", delivery=delivery, recipient=delivery.recipient,
                         description="\r=1+1", occurred_at=timezone.now())
    client.force_login(organizer)
    url = f"/dashboard/cohorts/{cohort.slug}/"
    archive = zipfile.ZipFile(io.BytesIO(download(client, url + "export/cohort.zip")))
    files = {
        "learners.csv": [download(client, url + "export/learners.csv"), download(client, url + "learners/export.csv"),
                         archive.read("learners.csv")],
        "groups.csv": [download(client, url + "export/groups.csv"), archive.read("groups.csv")],
        "deliveries.csv": [download(client, url + "export/deliveries.csv"), archive.read("deliveries.csv")],
    }
    expected = {"learners.csv": {"name": "'" + FORMULA},
                "groups.csv": {"learner_name": "'" + FORMULA, "group_name": "'@group"},
                "deliveries.csv": {"message_subject": "'-1+2", "last_error": "'\t=1+1",
                                   "event_description": "'\r=1+1"}}
    for name, bodies in files.items():
        for body in bodies:
            [row] = csv.DictReader(io.StringIO(body.decode(), newline=""))
            assert {k: row[k] for k in expected[name]} == expected[name], name
    # JSON is not a spreadsheet: the name is kept as it is
    assert json.loads(download(client, url + "export/learners.json"))[0]["name"] == FORMULA


def test_the_page_links_each_groups_archive(client, organizer, data):
    from django.urls import reverse

    from mmooc.groups.models import StudyGroup

    client.force_login(organizer)
    content = client.get(reverse("dashboard:exports", args=[data.cohort.slug])).content.decode()
    groups = StudyGroup.objects.filter(cohort=data.cohort).order_by("number")
    assert groups
    for group in groups:
        link = reverse("dashboard:export_mbox", args=[data.cohort.slug, group.number])
        assert f'<a href="{link}">{group.name}</a>' in content
