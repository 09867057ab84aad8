"""POST /dashboard/cohorts/<cohort>/learners/import: preview, then import all or nothing."""

from __future__ import annotations

import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mmooc.audit.models import AuditEntry
from mmooc.learners.models import Learner
from mmooc.learners.signals import learner_confirmed
from mmooc.mailer.models import Delivery
from mmooc.operations import counters
from mmooc.testing import make_learner

pytestmark = pytest.mark.django_db
GOOD = "Email,Name,Time zone,Language,Group,level,notes\n" \
       "ada@example.org,Ada Lovelace,Europe/London,en,yes,new,x\n" \
       "bo@example.org,Bo Li,Asia/Calcutta,zh,no,some,y\n"



def url(cohort):
    return f"/dashboard/cohorts/{cohort.slug}/learners/import"


def upload(client, cohort, text: str | bytes, name="learners.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(url(cohort), {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def do_import(client, cohort, response, consented=False):
    upload_id = re.search(r'name="upload" value="([0-9a-f]+)"', response.content.decode()).group(1)
    data = {"upload": upload_id, "action": "import"}
    if consented:
        data["consented"] = "yes"
    return client.post(url(cohort), data)


@pytest.fixture
def staff(client, organizer):
    client.force_login(organizer)
    return client


def test_it_previews_without_importing(staff, cohort):
    response = upload(staff, cohort, GOOD)
    content = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.org" in content and "Asia/Kolkata" in content and "Import 2 learners" in content
    assert "Not used: notes" in content
    assert not Learner.objects.exists()


def test_it_imports_as_pending_and_sends_confirmations(staff, cohort):
    response = do_import(staff, cohort, upload(staff, cohort, GOOD))
    assert response.status_code == 200 and "Imported 2 learners" in response.content.decode()
    learners = Learner.objects.order_by("email")
    assert [(lr.email, lr.state, lr.source, lr.wants_group) for lr in learners] == [
        ("ada@example.org", "pending", "import", True), ("bo@example.org", "pending", "import", False)]
    assert learners[1].answers == {"level": "some"} and learners[1].country == "IN"
    assert Delivery.objects.filter(message__tag="confirmation").count() == 2
    assert AuditEntry.objects.filter(action="learners.imported").count() == 1
    assert counters.totals() == {("signups", "import"): 2}


def test_it_imports_as_confirmed_when_consent_is_ticked(staff, cohort, django_capture_on_commit_callbacks):
    seen = []
    learner_confirmed.connect(lambda sender, learner, **kw: seen.append(learner.email), weak=False,
                              dispatch_uid="import-test")
    try:
        preview = upload(staff, cohort, GOOD)
        with django_capture_on_commit_callbacks(execute=True):
            do_import(staff, cohort, preview, consented=True)
    finally:
        learner_confirmed.disconnect(dispatch_uid="import-test")
    assert set(Learner.objects.values_list("state", flat=True)) == {"confirmed"}
    assert sorted(seen) == ["ada@example.org", "bo@example.org"]
    assert not Delivery.objects.filter(message__tag="confirmation").exists()
    assert counters.totals() == {("signups", "import"): 2, ("confirmations", ""): 2}


def test_it_reports_every_bad_row_with_its_line_and_imports_nothing(staff, cohort):
    text = GOOD + ("not-an-address,X,UTC,en,yes,new,\n"
                   "cy@example.org,Cy,Mars/Base,en,yes,new,\n"
                   "ada@example.org,Again,UTC,en,yes,new,\n"
                   "di@example.org,\"Di\nNewline\",UTC,en,yes,new,\n"
                   "ed@example.org,Ed,UTC,en,yes,expert,\n"
                   "fa@example.org,Fa,UTC\n")
    response = upload(staff, cohort, text)
    content = response.content.decode()
    assert response.status_code == 400
    assert "Line 4: email:" in content
    assert "Line 5: time zone: Mars/Base is not a known time zone" in content
    assert "Line 6: ada@example.org is also on line 2." in content
    assert "Line 8: name: The name must be on one line." in content
    assert "Line 9: answers:" in content and "expert" in content
    assert "Line 10: 3 columns where the header has 7." in content
    assert not Learner.objects.exists()


def test_it_refuses_a_file_that_is_not_utf8(staff, cohort):
    response = upload(staff, cohort, "email,name\nada@example.org,Zoë\n".encode("latin-1"))
    assert response.status_code == 400
    assert "Line 2: the file is not UTF-8 text" in response.content.decode()
    assert not Learner.objects.exists()


def test_it_accepts_a_utf8_file_with_a_byte_order_mark(staff, cohort):
    response = upload(staff, cohort, "\ufeffemail,name\nada@example.org,Zoë\n".encode())
    assert response.status_code == 200 and "Zoë" in response.content.decode()


def test_it_refuses_a_file_without_an_email_column(staff, cohort):
    response = upload(staff, cohort, "name,timezone\nAda,UTC\n")
    assert response.status_code == 400
    assert "No email column" in response.content.decode()
    assert not Learner.objects.exists() and not AuditEntry.objects.exists()


def test_it_refuses_an_empty_file(staff, cohort):
    response = upload(staff, cohort, "")
    assert response.status_code == 400 and "empty" in response.content.decode()
    assert not Learner.objects.exists() and not AuditEntry.objects.exists()


def test_it_leaves_learners_already_in_the_cohort_unchanged(staff, cohort):
    make_learner(cohort, "ada@example.org", name="Original")
    response = do_import(staff, cohort, upload(staff, cohort, GOOD))
    assert "Imported 1 learner" in response.content.decode()
    assert Learner.objects.get(email="ada@example.org").name == "Original"


def test_it_refuses_an_upload_that_does_not_exist(staff, cohort):
    response = staff.post(url(cohort), {"upload": "0" * 32, "action": "import"})
    assert response.status_code == 404
    assert not Learner.objects.exists() and not AuditEntry.objects.exists()


def test_it_asks_for_a_file(staff, cohort):
    assert staff.post(url(cohort), {}).status_code == 400
    assert not Learner.objects.exists() and not AuditEntry.objects.exists()


def test_it_is_for_organizers_only(client, facilitator, cohort):
    client.force_login(facilitator)
    assert upload(client, cohort, GOOD).status_code == 403
    assert not Learner.objects.exists()


def test_it_refuses_put(staff, cohort):
    assert staff.put(url(cohort), GOOD).status_code == 405
    assert not Learner.objects.exists() and not AuditEntry.objects.exists()


def test_it_imports_100000_rows_in_one_go(staff, cohort):
    lines = ["email,name,timezone"] + [f"l{i}@example.org,Learner {i},Europe/Paris" for i in range(100_000)]
    started = time.monotonic()
    preview = upload(staff, cohort, "\n".join(lines) + "\n")
    assert preview.status_code == 200
    response = do_import(staff, cohort, preview, consented=True)
    elapsed = time.monotonic() - started
    assert "Imported 100000 learners" in response.content.decode()
    assert Learner.objects.filter(cohort=cohort, state=Learner.CONFIRMED).count() == 100_000
    print(f"100,000-row import: preview and import took {elapsed:.1f}s")
