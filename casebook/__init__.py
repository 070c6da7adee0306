"""casebook: a clinical case workbook for integrative GI practices, on Jupyter."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
