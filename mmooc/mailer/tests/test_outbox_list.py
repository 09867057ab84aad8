from __future__ import annotations

import pytest

from mmooc.mailer.tests.viewer_helpers import sent_in_outbox

pytestmark = pytest.mark.django_db


def test_it_lists_messages_with_counts(client, organizer, settings):
    msg = sent_in_outbox(settings, n=3)
    client.force_login(organizer)
    response = client.get("/outbox/")
    assert response.status_code == 200
    assert f"/outbox/{msg.public_id}/" in response.text
    assert "<td class=\"num\">3</td>" in response.text


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/outbox/")
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]


def test_it_refuses_an_outsider(client, outsider):
    client.force_login(outsider)
    assert client.get("/outbox/").status_code == 403


def test_it_refuses_post(client, organizer):
    client.force_login(organizer)
    assert client.post("/outbox/").status_code == 405


def test_it_finds_the_messages_sent_to_a_recipient(client, organizer, settings):
    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message
    from mmooc.mailer.outbox import Recipient

    other = outbox.compose(kind=Message.TRANSACTIONAL, subject="Other", body="x")
    outbox.enqueue(other, [Recipient("someone@example.org", {})])
    msg = sent_in_outbox(settings, n=3)
    client.force_login(organizer)
    page = client.get("/outbox/", {"q": "L1@EXAMPLE"}).content.decode()
    assert f"/outbox/{msg.public_id}/" in page and f"/outbox/{other.public_id}/" not in page
    assert "No message went to" in client.get("/outbox/", {"q": "nobody@"}).content.decode()


def test_it_refuses_an_oversized_search(client, organizer):
    client.force_login(organizer)
    response = client.get("/outbox/", {"q": "x" * 255})
    assert response.status_code == 400 and b"254" in response.content


def test_it_shows_the_copies_by_status_in_one_column(client, organizer, settings):
    sent_in_outbox(settings, n=3)
    client.force_login(organizer)
    page = client.get("/outbox/").content.decode()
    assert '<span class="nowrap" data-status="sent">3 sent</span>' in page
    assert page.count("</th>") == 5


def test_it_counts_the_copies_of_the_page_s_messages_only_in_a_fixed_number_of_queries(
        client, organizer, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mmooc.mailer import outbox
    from mmooc.mailer.models import Message
    from mmooc.mailer.outbox import Recipient

    for i in range(55):  # more than one page
        message = outbox.compose(kind=Message.TRANSACTIONAL, subject=f"Note {i}", body="x")
        outbox.enqueue(message, [Recipient(f"r{i}-{j}@example.org", {}) for j in range(3)])
    client.force_login(organizer)  # the outbox is for site-wide organizers (docs/roles.md)
    with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as queries:
        page = client.get("/outbox/").content.decode()
    assert page.count('data-status="queued">3 queued</span>') == 50
    # Every statement that reads copies names the page's messages: none reads the whole outbox.
    reading_copies = [q["sql"] for q in queries if "mailer_delivery" in q["sql"]]
    assert any('"message_id" IN (' in sql for sql in reading_copies)
    assert not any('JOIN "mailer_delivery"' in sql for sql in reading_copies)


def _page_statements(client, organizer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(organizer)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/outbox/")
    return [q["sql"] for q in ctx.captured_queries]


def test_each_messages_sample_copy_is_read_from_its_recipients_index(client, organizer, settings):
    from mmooc import testing

    sent_in_outbox(settings, n=3)
    [sample] = [sql for sql in _page_statements(client, organizer) if '"context"' in sql and "LIMIT 1" in sql]
    plan = testing.query_plan(sample)
    # SQLite names the unique (message, recipient) index sqlite_autoindex_…
    assert "delivery_once_per_recipient" in plan or "sqlite_autoindex_mailer_delivery" in plan
    assert "mailer_delivery_pkey" not in plan and "USING INTEGER PRIMARY KEY (rowid>" not in plan


@pytest.mark.postgres
def test_each_messages_sample_copy_is_read_from_its_recipients_index_on_postgresql(client, organizer, settings):
    test_each_messages_sample_copy_is_read_from_its_recipients_index(client, organizer, settings)


def test_with_kept_counts_the_page_counts_no_copies_once_counted(client, organizer, settings):
    sent_in_outbox(settings, n=3)
    settings.MAIL_COUNTS_SECONDS = 120
    _page_statements(client, organizer)
    again = _page_statements(client, organizer)
    assert not [sql for sql in again if 'FROM "mailer_delivery"' in sql and "COUNT(" in sql.upper()]
    response = client.get("/outbox/")
    assert "<td class=\"num\">3</td>" in response.text and "Copies counted as of" in response.text
