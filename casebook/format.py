"""How casebook writes a number for people: one formatter for every view.

The red flags, the charts, the workbook forms and tables, the terminal report and the
patient's dashboard all write values and ranges with `number`, so a result reads the same
wherever it appears.
"""

from __future__ import annotations

from datetime import date

__all__ = ["count", "day", "lower_first", "number", "range_text"]


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
