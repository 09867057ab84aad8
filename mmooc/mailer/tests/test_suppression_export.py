"""Downloading the list: GET /dashboard/suppressions/export.csv."""

from __future__ import annotations

import csv
import io

import pytest

from mmooc.audit.models import AuditEntry
from mmooc.mailer import suppression
from mmooc.mailer.models import Suppression

URL = "/dashboard/suppressions/export.csv"
pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_streams_every_address(client, organizer):
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE, "550 5.1.1")
    suppression.suppress("bob@example.net", Suppression.MANUAL, "asked")
    client.force_login(organizer)
    response = client.get(URL)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    table = rows(response)
    assert table[0] == ["address", "reason", "detail", "created_at"]
    assert [r[:3] for r in table[1:]] == [["bob@example.net", "manual", "asked"],
                                          ["jane@example.com", "hard-bounce", "550 5.1.1"]]


def test_it_keeps_spreadsheets_from_running_details_as_formulas(client, organizer):
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE, '=HYPERLINK("http://x.example")')
    client.force_login(organizer)
    assert rows(client.get(URL))[1][2].startswith("'=")


def test_it_can_be_imported_again(client, organizer):
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE, "550 5.1.1")
    client.force_login(organizer)
    table = rows(client.get(URL))
    Suppression.objects.all().delete()
    from mmooc.mailer.suppression_views import read_import

    result = read_import("\n".join(",".join(r[:2]) for r in table).encode())
    assert (result.errors, result.rows) == ([], [("jane@example.com", "hard-bounce")])


def test_it_records_the_download(client, organizer):
    client.force_login(organizer)
    rows(client.get(URL))
    assert AuditEntry.objects.get().action == "export.downloaded"


def test_it_refuses_facilitators(client, facilitator):
    client.force_login(facilitator)
    assert client.get(URL).status_code == 403
    assert not AuditEntry.objects.exists()


def test_it_refuses_outsiders(client, outsider):
    client.force_login(outsider)
    assert client.get(URL).status_code == 403
    assert not AuditEntry.objects.exists()


def test_it_refuses_post(client, organizer):
    client.force_login(organizer)
    assert client.post(URL).status_code == 405
    assert not AuditEntry.objects.exists()


def test_every_formula_prefix_is_made_inert_and_the_address_reads_back(client, organizer):
    for i, prefix in enumerate(["=", "+", "-", "@", "\t", "\r"]):
        suppression.suppress(f"{'-' if prefix == '-' else ''}user{i}@example.com", Suppression.HARD_BOUNCE,
                             prefix + "cmd|' /C calc'!A0")
    client.force_login(organizer)
    table = rows(client.get(URL))
    assert sorted(r[2] for r in table[1:]) == sorted("'" + p + "cmd|' /C calc'!A0" for p in "=+-@\t\r")
    assert "'-user2@example.com" in [r[0] for r in table]
    from mmooc.mailer.suppression_views import read_import

    result = read_import("\n".join(",".join(r[:2]) for r in table).encode())
    assert ("-user2@example.com", "hard-bounce") in result.rows and not result.errors


def test_an_erased_learners_row_reads_as_such_and_an_import_of_the_file_skips_it(client, organizer):
    suppression.suppress("jane@example.com", Suppression.HARD_BOUNCE, "550 5.1.1")
    suppression.suppress("gone@example.org", Suppression.COMPLAINT, "spam")
    suppression.forget(["gone@example.org"])
    client.force_login(organizer)
    table = rows(client.get(URL))
    assert sorted(r[0] for r in table[1:]) == ["erased learner (hashed)", "jane@example.com"]
    from mmooc.mailer.suppression_views import read_import

    result = read_import("\n".join(",".join(r[:2]) for r in table).encode())
    assert (result.errors, result.rows) == ([], [("jane@example.com", "hard-bounce")])
