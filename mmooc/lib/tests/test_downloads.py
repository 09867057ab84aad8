from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from mmooc.lib.downloads import batched, cell, csv_lines, download


def test_cells_are_text_numbers_iso_times_and_yes_no():
    when = datetime(2027, 3, 8, 9, 30, tzinfo=UTC)
    assert [cell(v) for v in ["a", 3, 1.5, True, False, None, when, Decimal("0.80")]] == [
        "a", 3, 1.5, "yes", "no", "", "2027-03-08T09:30:00+00:00", "0.80"]


def test_csv_lines_quote_what_needs_quoting_one_line_at_a_time():
    lines = list(csv_lines(["name", "note"], [['Ada, "the" Countess', "two\nlines"], [None, True]]))
    assert len(lines) == 3
    assert list(csv.reader(io.StringIO("".join(lines)))) == [
        ["name", "note"], ['Ada, "the" Countess', "two\nlines"], ["", "yes"]]


def test_batched_joins_chunks_into_pieces_and_keeps_the_rest():
    pieces = list(batched(["ab", b"cd", "é", "f"], size=4))
    assert pieces == [b"abcd", "éf".encode()]


def test_a_download_is_an_attachment_no_cache_keeps():
    response = download(iter(["a,b\r\n", "1,2\r\n"]), "text/csv; charset=utf-8", "x.csv")
    assert response.streaming and b"".join(response.streaming_content) == b"a,b\r\n1,2\r\n"
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert response["Cache-Control"] == "no-store" and response["Content-Type"] == "text/csv; charset=utf-8"
