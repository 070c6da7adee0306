"""How casebook writes a number for people: one formatter for every view.

The red flags, the charts, the workbook forms and tables, the terminal report and the
patient's dashboard all write values and ranges with `number`, so a result reads the same
wherever it appears. Terminal tables are laid out by `text_table`, within 100 columns.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date

__all__ = [
    "TERMINAL_WIDTH",
    "count",
    "day",
    "lower_first",
    "number",
    "range_text",
    "text_table",
    "wrapped",
]

TERMINAL_WIDTH = 100  # what every terminal view fits in


def number(value: float) -> str:
    """Up to ten significant digits, no trailing zeros, no exponent for lab-sized values.

    12.0 -> "12", 10.9 -> "10.9", 250000.0 -> "250000", 0.5 -> "0.5".
    """
    return f"{value:.10g}"


def range_text(low: float | None, high: float | None, unit: str = "") -> str:
    """A reference or target range: "3 – 10", "≥ 30", "≤ 50", or "" when neither end is set.

    An open end never shows as a dash ("30 – —"); `unit`, when given, follows the range."""
    if low is not None and high is not None:
        text = f"{number(low)} – {number(high)}"
    elif low is not None:
        text = f"≥ {number(low)}"
    elif high is not None:
        text = f"≤ {number(high)}"
    else:
        return ""
    return f"{text} {unit}".rstrip()


def lower_first(text: str) -> str:
    """A label to run on inside a sentence: "Raised CRP" -> "raised CRP". Only the first
    letter changes, and not even that when the first word is an abbreviation ("IBD flare")."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 day", "2 days": the number and the word that agrees with it."""
    word = singular if n == 1 else (plural or f"{singular}s")
    return f"{n} {word}"


def day(value: date) -> str:
    """1 June 2025: a date every reader reads the same way, in every country."""
    return f"{value.day} {value:%B %Y}"


def text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], width: int = TERMINAL_WIDTH
) -> list[str]:
    """The lines of a plain-text table (a header, a rule of dashes, the rows) no wider than
    `width`. When the columns do not fit, the widest are narrowed alike (to no less than
    12 characters) and a cell that no longer fits ends in "…"; when even that does not
    fit, the columns, at their full width, are split into blocks one under another, each
    led by the first column (the row's key)."""
    cells = [list(header), *[list(r) for r in rows]]
    natural = [max(len(r[i]) for r in cells) for i in range(len(header))]
    cap = max(natural, default=0)
    while cap > _NARROWEST and _span([min(w, cap) for w in natural]) > width:
        cap -= 1
    widths = [min(w, cap) for w in natural]
    if _span(widths) > width:  # too many columns: blocks of whole columns, none narrowed
        widths = [min(w, (width - 2) // 2) for w in natural]
    blocks: list[list[int]] = [[0]]
    for i in range(1, len(widths)):
        if len(blocks[-1]) > 1 and _span([widths[j] for j in [*blocks[-1], i]]) > width:
            blocks.append([0])
        blocks[-1].append(i)
    out: list[str] = []
    for block in blocks:
        out += [""] if out else []
        out += _lines([[r[i] for i in block] for r in cells], [widths[i] for i in block])
    return out


_NARROWEST = 12  # a column is narrowed to no less than this


def _span(widths: Sequence[int]) -> int:
    return sum(widths) + 2 * (len(widths) - 1)


def _lines(cells: Sequence[Sequence[str]], widths: Sequence[int]) -> list[str]:
    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else text[: w - 1] + "…"

    lines = ["  ".join(fit(c, w).ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return [line.rstrip() for line in lines]


def wrapped(
    text: str, indent: str, first: str | None = None, width: int = TERMINAL_WIDTH
) -> list[str]:
    """`text` as lines of at most `width` characters, each starting with `indent` (the first
    with `first`, e.g. a bullet, when given)."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
    )
