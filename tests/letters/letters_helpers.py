"""Shared by the letters tests: the letter date, a hostile string, and PDF text."""

from __future__ import annotations

import io
from datetime import date

TODAY = date(2025, 6, 1)
XSS = "<img src=x onerror=alert(1)>"


def pdf_text(data: bytes) -> str:
    """The PDF's text, whitespace folded to single spaces."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
