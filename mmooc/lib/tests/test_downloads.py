from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mmooc.lib.downloads import batched, cell, csv_lines, download, uninert


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


HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_lines_make_formula_text_inert_and_it_reads_back(text):
    lines = list(csv_lines(["name"], [[text]]))
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows[1] == ["'" + text]
    assert uninert(rows[1][0]) == text


def test_csv_lines_leave_numbers_times_and_plain_text_alone():
    when = datetime(2027, 3, 8, 9, 30, tzinfo=UTC)
    lines = list(csv_lines(["a", "b", "c", "d", "e"], [[-3, -1.5, when, "Ada - the Countess", "a=b"]]))
    assert list(csv.reader(io.StringIO("".join(lines))))[1] == [
        "-3", "-1.5", "2027-03-08T09:30:00+00:00", "Ada - the Countess", "a=b"]
    assert uninert("'plain") == "'plain" and uninert("plain") == "plain"


def test_cells_of_other_types_are_made_inert_too():
    class Odd:
        def __str__(self) -> str:
            return "=1+1"

    assert cell(Odd()) == "'=1+1"
