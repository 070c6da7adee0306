"""Reading a CSV file: its header, then its rows one by one (with their line numbers,
for messages) or all at once as columns (for checking a large file a column at a time).

`split_columns` gives exactly the values that `rows` gives, for every row that is not
blank, or None when a row needs the row-by-row path (which names the line): a row
without the header's width, a NUL byte, anything pandas would read differently from
`csv.reader`. A file without quotes is split by pandas' C parser; with quotes (where the
two parsers may differ on odd input) by `csv.reader` itself.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from casebook.errors import CasebookError

if TYPE_CHECKING:
    from _csv import Reader

__all__ = [
    "MAX_ERRORS_SHOWN",
    "CsvImportError",
    "RowError",
    "Table",
    "open_table",
    "read_rows",
    "split_columns",
]

MAX_ERRORS_SHOWN = 200


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field}: {self.reason}"


class CsvImportError(CasebookError, ValueError):
    """Every problem found in a file; nothing was imported."""

    def __init__(self, path: str, errors: list[RowError]) -> None:
        self.path, self.errors = path, errors
        shown = "\n".join(f"  {e}" for e in errors[:MAX_ERRORS_SHOWN])
        more = len(errors) - MAX_ERRORS_SHOWN
        tail = f"\n  ... and {more} more" if more > 0 else ""
        rows = len({e.line for e in errors if e.line})
        plural = "s" if rows != 1 else ""
        what = f"{rows} bad row{plural}" if rows else "cannot be read"
        super().__init__(f"{path}: {what}, nothing was imported:\n{shown}{tail}")


@dataclass(frozen=True)
class Table:
    """A CSV file whose header is good: its text, where each expected column is in the
    header, and the header's width."""

    text: str
    order: list[int]
    width: int

    def records(self) -> Reader:
        """A `csv.reader` that has read the header."""
        reader = csv.reader(io.StringIO(self.text, newline=""))
        next(reader)
        return reader


def open_table(path: Path, columns: tuple[str, ...]) -> Table:
    try:
        # newline="": a line end inside a quoted cell stays as written (a note's "\r\n")
        with path.open(encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except FileNotFoundError:
        raise CsvImportError(str(path), [RowError(0, "file", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            str(path), [RowError(0, "file", f"not UTF-8 text ({exc.reason})")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CsvImportError(str(path), [RowError(1, "header", "the file is empty")]) from None
    except csv.Error as exc:
        raise CsvImportError(str(path), [RowError(1, "file", f"malformed CSV ({exc})")]) from None
    missing = [c for c in columns if c not in header]
    extra = [h for h in header if h not in columns]
    dupes = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if missing:
        problems.append(RowError(1, "header", f"missing column(s): {', '.join(missing)}"))
    if extra:
        problems.append(
            RowError(
                1, "header", f"unknown column(s): {', '.join(extra)} (expected {','.join(columns)})"
            )
        )
    if dupes:
        problems.append(RowError(1, "header", f"repeated column(s): {', '.join(dupes)}"))
    if problems:
        raise CsvImportError(str(path), problems)
    return Table(text, [header.index(c) for c in columns], len(header))


def read_rows(
    path: Path, table: Table, columns: tuple[str, ...]
) -> Iterator[tuple[int, list[str] | RowError]]:
    """(line, values in `columns` order, stripped) per non-blank row; line = file line."""
    reader, order, width = table.records(), table.order, table.width
    line = reader.line_num + 1
    try:
        for values in reader:
            if len(values) == width:
                nul = next((columns[k] for k, i in enumerate(order) if "\x00" in values[i]), None)
                if nul is not None:
                    yield line, RowError(line, nul, "contains a NUL byte (\\x00)")
                else:
                    yield line, [values[i].strip() for i in order]
            elif any(v.strip() for v in values):
                shape = f"has {len(values)} fields, the header has {width}"
                yield line, RowError(line, "row", shape)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise CsvImportError(
            str(path), [RowError(line, "file", f"malformed CSV ({exc})")]
        ) from None


def _by_pandas(body: str, width: int) -> list[list[str]] | None:
    """Without quotes every comma separates two fields and every line end ends a row, as
    for `csv.reader`. pandas skips lines that are empty or only spaces (the row path skips
    them as blank too), pads a short row and may take a long first row's first field as
    an index: so the index must be plain and the commas exactly (width - 1) per row."""
    if not body.strip():
        return [[] for _ in range(width)]
    if body.startswith("\ufeff"):  # pandas would drop it; csv.reader keeps it in the field
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            frame = pd.read_csv(
                io.StringIO(body),
                sep=",",
                header=None,
                names=range(width),
                index_col=None,
                dtype=object,
                na_filter=False,
                quoting=csv.QUOTE_NONE,
                skip_blank_lines=True,
                engine="c",
            )
        except (ValueError, Warning):  # pandas' ParserError is a ValueError
            return None
    if not isinstance(frame.index, pd.RangeIndex) or body.count(",") != (width - 1) * len(frame):
        return None
    columns: list[list[str]] = [frame[k].tolist() for k in range(width)]
    return columns


def _by_csv(records: Iterator[list[str]], width: int) -> list[list[str]] | None:
    try:
        rows = [r for r in records if len(r) == width or any(v.strip() for v in r)]
    except csv.Error:
        return None
    if any(len(r) != width for r in rows):
        return None
    return [[r[k] for r in rows] for k in range(width)]


def _body(text: str) -> str:
    """`text` after its first line (the header, when the file has no quotes)."""
    ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
    if not ends:
        return ""
    end = min(ends)
    return text[end + (2 if text.startswith("\r\n", end) else 1) :]


# What str.strip() removes, but the line ends (without quotes, no field holds one): in
# ASCII text, and in any text (a regular expression's \s is what strip() removes)
_SPACES = tuple(c for c in map(chr, range(128)) if c.isspace() and c not in "\r\n")
_BLANK = re.compile(r"[^\S\r\n]")


def split_columns(
    text: str, records: Iterator[list[str]], order: Sequence[int], width: int
) -> list[list[str]] | None:
    """The stripped values of `text`'s non-blank rows after the header, one list per
    column in `order` (indexes into the header's `width` fields); `records` is a
    `csv.reader` over `text` that has read the header. None: use the row-by-row path."""
    if "\x00" in text:
        return None
    quoted = '"' in text
    raw = _by_csv(records, width) if quoted else _by_pandas(_body(text), width)
    if raw is None:
        return None
    if quoted or (
        any(space in text for space in _SPACES)
        if text.isascii()
        else _BLANK.search(text) is not None
    ):
        columns = [[v.strip() for v in raw[k]] for k in order]
    else:  # no field can start or end with what strip() removes
        columns = [raw[k] for k in order]
    blank = (
        [i for i, v in enumerate(columns[0]) if not v and not any(c[i] for c in columns)]
        if "" in columns[0]
        else []
    )  # a blank row has no patient id
    if blank:
        keep = sorted(set(range(len(columns[0]))) - set(blank))
        columns = [[c[i] for i in keep] for c in columns]
    return columns
