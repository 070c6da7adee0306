"""The one CSV writer: no cell casebook writes can run as a spreadsheet formula.

Excel, LibreOffice and Google Sheets take a cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return as a formula (`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`). As OWASP's CSV
injection guidance describes, such a text cell is written with a single quote `'` in front,
which a spreadsheet shows as text; the quote goes in front of the whole cell, so a leading
tab or carriage return stays behind it and cannot be stripped off to leave the `=` first.
Only text is changed: numbers (a numeric column, or a number in any column) are written as
numbers, so -2.5 stays -2.5.

`unescape_cell` undoes exactly that, and casebook's own CSV importers apply it to the text
columns they read: a cell that starts with one or more `'` and then one of those characters
loses one `'`. A text cell that already started that way gets one more `'` when written, so
every value reads back as it was written: `=1+1` is written `'=1+1`, and `'=1+1` is written
`''=1+1`.
"""

from __future__ import annotations

import csv
import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_START", "escape_cell", "frame_to_csv", "unescape_cell"]

FORMULA_START = "=+-@\t\r"
_RISKY = re.compile(r"'*[=+\-@\t\r]")


def escape_cell(text: str) -> str:
    """`text` as a spreadsheet-safe CSV cell: a `'` in front when it could start a formula."""
    return "'" + text if _RISKY.match(text) else text


def unescape_cell(text: str) -> str:
    """The text `escape_cell` was given: one leading `'` taken off a cell it escaped."""
    return text[1:] if text.startswith("'") and _RISKY.match(text, 1) else text


def _escaped(value: Any) -> Any:
    return escape_cell(value) if isinstance(value, str) else value


def frame_to_csv(df: pd.DataFrame) -> str:
    """`df` as CSV text: a header row, no index, dates as YYYY-MM-DD, empty cells for missing
    values, `\\n` line ends, and every text cell (header included) through `escape_cell`.
    Numeric and date columns are written as they are.

    Python's csv writer leaves a field holding a lone carriage return unquoted when lines
    end in `\n`, and a reader then takes it for a line end: when a text cell holds one,
    every cell is quoted (which spreadsheets and casebook's readers read just the same)."""
    out = df.copy()
    carriage_return = False
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        out[col] = series.map(_escaped)
        carriage_return = carriage_return or any(isinstance(v, str) and "\r" in v for v in out[col])
    out.columns = [_escaped(str(c)) for c in out.columns]
    quoting = csv.QUOTE_ALL if carriage_return else csv.QUOTE_MINIMAL
    return str(
        out.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n", quoting=quoting)
    )
