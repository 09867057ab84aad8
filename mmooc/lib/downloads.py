"""Streamed downloads: CSV written row by row as it is read, sent in pieces as an attachment.

`csv_lines(header, rows)` turns rows of plain values into CSV text one line at a time (times
as ISO 8601, booleans as yes/no, None as empty, and text a spreadsheet would run as a formula
made inert); it is the one CSV writer of every export. `download(chunks, content_type, filename)`
sends any text or bytes chunks joined into pieces of about 64 KiB, so memory stays flat
whatever the size of the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.http import StreamingHttpResponse

PIECE = 64 * 1024
CSV = "text/csv; charset=utf-8"


class _Echo:
    """A file-like object whose write returns what it was given: csv.writer for streaming."""

    def write(self, value: str) -> str:
        return value


# A spreadsheet runs a cell starting with one of these as a formula (or, for tab and CR, a
# cell that some programs strip down to one): such text gets a leading apostrophe, which
# spreadsheets show as text and do not display. Numbers stay numbers.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """Text a spreadsheet shows as it is: a leading apostrophe before a formula prefix."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def uninert(text: str) -> str:
    """The text `inert` was given: for reading an exported file back in."""
    return text[1:] if text[:1] == "'" and text[1:].startswith(FORMULA_PREFIXES) else text


def cell(value: Any) -> Any:
    """A value as a CSV cell: text and numbers as they are, times in ISO 8601, yes/no, "" for None."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return value
    return inert(value if isinstance(value, str) else str(value))


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]], lineterminator: str = "\r\n") -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator=lineterminator)
    yield writer.writerow(header)
    plain = (int, float)
    for row in rows:
        # Most cells are numbers or text that needs nothing; only the others go through cell().
        yield writer.writerow([v if type(v) in plain or (type(v) is str and not v.startswith(FORMULA_PREFIXES))
                               else cell(v) for v in row])


def batched(chunks: Iterable[str | bytes], size: int = PIECE) -> Iterator[bytes]:
    """Chunks joined into pieces of about `size` bytes: one write per piece, not per row."""
    buffer: list[bytes] = []
    length = 0
    for chunk in chunks:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        buffer.append(data)
        length += len(data)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


def download(chunks: Iterable[str | bytes], content_type: str, filename: str) -> StreamingHttpResponse:
    """An attachment streamed as it is made; never kept by a cache (exports hold personal data)."""
    response = StreamingHttpResponse(batched(chunks), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
