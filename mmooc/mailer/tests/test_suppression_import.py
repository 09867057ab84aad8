"""Importing a CSV of addresses: /dashboard/suppressions/import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mmooc.audit.models import AuditEntry
from mmooc.mailer import signals, suppression
from mmooc.mailer.models import Suppression

URL = "/dashboard/suppressions/import"
pytestmark = pytest.mark.django_db


def upload(client, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return client.post(URL, {"file": SimpleUploadedFile("list.csv", data, content_type="text/csv")})


def test_it_shows_the_form(client, organizer):
    client.force_login(organizer)
    response = client.get(URL)
    assert response.status_code == 200 and b'type="file"' in response.content


def test_it_imports_addresses_with_and_without_reasons(client, organizer):
    client.force_login(organizer)
    response = upload(client, "address,reason\njane@example.com,hard-bounce\nBob@Example.net\n"
                              "carol@example.org,Spam complaint\n")
    assert response.status_code == 200 and response.context["added"] == 3
    assert dict(Suppression.objects.values_list("address", "reason")) == {
        "jane@example.com": "hard-bounce", "bob@example.net": "manual", "carol@example.org": "complaint"}


def test_it_records_the_import(client, organizer):
    client.force_login(organizer)
    upload(client, "jane@example.com\n")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.details["added"]) == ("suppression.imported", 1)


def test_it_leaves_listed_addresses_as_they_are(client, organizer):
    suppression.suppress("jane@example.com", Suppression.COMPLAINT)
    client.force_login(organizer)
    response = upload(client, "jane@example.com,manual\nbob@example.net\n")
    assert (response.context["added"], response.context["already"]) == (1, 1)
    assert Suppression.objects.get(address="jane@example.com").reason == Suppression.COMPLAINT


def test_it_imports_nothing_if_one_line_is_wrong_and_says_which(client, organizer):
    client.force_login(organizer)
    response = upload(client, "jane@example.com\nnot-an-address\nbob@example.net,sometimes\n")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 2: &#x27;not-an-address&#x27; is not a usable email address" in body
    assert "Line 3: unknown reason &#x27;sometimes&#x27;" in body
    assert not Suppression.objects.exists() and not AuditEntry.objects.exists()


def test_it_refuses_a_file_that_is_not_utf8(client, organizer):
    client.force_login(organizer)
    response = upload(client, "jos\xe9@example.com\n".encode("latin-1"))
    assert response.status_code == 400 and b"not UTF-8" in response.content
    assert not Suppression.objects.exists()


def test_it_refuses_an_empty_file(client, organizer):
    client.force_login(organizer)
    response = upload(client, "address,reason\n")
    assert response.status_code == 400 and b"holds no addresses" in response.content
    assert not Suppression.objects.exists() and not AuditEntry.objects.exists()


def test_it_refuses_a_post_without_a_file(client, organizer):
    client.force_login(organizer)
    response = client.post(URL, {})
    assert response.status_code == 400 and b"Choose a CSV file" in response.content
    assert not Suppression.objects.exists() and not AuditEntry.objects.exists()


def test_it_refuses_facilitators(client, facilitator):
    client.force_login(facilitator)
    assert upload(client, "jane@example.com\n").status_code == 403
    assert not Suppression.objects.exists()


def test_it_refuses_outsiders(client, outsider):
    client.force_login(outsider)
    assert client.get(URL).status_code == 403
    assert upload(client, "address,reason\njane@example.com,complaint\n").status_code == 403
    assert not Suppression.objects.exists() and not AuditEntry.objects.exists()


def test_it_refuses_put(client, organizer):
    client.force_login(organizer)
    assert client.put(URL, "address,reason\njane@example.com,complaint\n").status_code == 405
    assert not Suppression.objects.exists() and not AuditEntry.objects.exists()


def test_it_imports_a_large_file_in_one_go(client, organizer):
    suppression.suppress("learner700@example.org", Suppression.COMPLAINT)
    client.force_login(organizer)
    response = upload(client, "".join(f"learner{n}@example.org\n" for n in range(1200)))
    assert (response.context["added"], response.context["already"]) == (1199, 1)
    assert Suppression.objects.count() == 1200


def test_it_tells_the_learners_app_about_each_address(client, organizer):
    heard: list[str] = []
    signals.suppressed.connect(lambda sender, suppression, **kw: heard.append(suppression.address),
                               weak=False, dispatch_uid="t-import-s")
    client.force_login(organizer)
    try:
        upload(client, "jane@example.com\nbob@example.net\n")
    finally:
        signals.suppressed.disconnect(dispatch_uid="t-import-s")
    assert sorted(heard) == ["bob@example.net", "jane@example.com"]
