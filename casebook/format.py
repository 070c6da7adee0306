"""How casebook writes a number for people: one formatter for every view.

The red flags, the charts, the workbook forms and tables, the terminal report and the
patient's dashboard all write values and ranges with `number`, so a result reads the same
wherever it appears.
"""

from __future__ import annotations

__all__ = ["number"]


def number(value: float) -> str:
    """Up to ten significant digits, no trailing zeros, no exponent for lab-sized values.

    12.0 -> "12", 10.9 -> "10.9", 250000.0 -> "250000", 0.5 -> "0.5".
    """
    return f"{value:.10g}"
