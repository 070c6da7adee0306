"""PDF output with WeasyPrint: tagged (PDF/UA-1), offline, and the same bytes every time.

WeasyPrint needs Debian's Pango (`apt-get install libpango-1.0-0 libpangoft2-1.0-0`); it is
imported only when a PDF is asked for, so the rest of casebook works without it.
"""

from __future__ import annotations

from typing import Any

from casebook.letters._render import Letter
from casebook.letters._settings import LetterError

__all__ = ["to_pdf"]

_INSTALL = (
    "PDF letters need WeasyPrint and Debian's Pango "
    "(pip install weasyprint; apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
)
_LOCAL_SCHEMES = ("data",)


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError as exc:
        raise LetterError(f"{_INSTALL}: {exc.name or 'weasyprint'} is not installed") from None
    except OSError as exc:  # cffi could not open a system library (Pango, GObject)
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise LetterError(f"{_INSTALL}: {reason}") from None
    return weasyprint


def _offline_fetcher(weasyprint: Any) -> Any:
    """A URL fetcher that serves `data:` URLs only: a letter never reaches the network or
    the file system, whatever a string in it says."""

    class OfflineFetcher(weasyprint.URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme not in _LOCAL_SCHEMES:
                raise ValueError(f"letters load nothing from outside: {scheme}: refused")
            return super().fetch(url, headers)

    return OfflineFetcher(allowed_protocols=_LOCAL_SCHEMES, fail_on_errors=False)


def to_pdf(letter: Letter) -> bytes:
    """The letter as a tagged PDF (PDF/UA-1). The same letter gives the same bytes: the
    PDF's dates are the letter's date (set in the page's <meta> elements) and its file
    identifier is derived from the content hash."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=letter.html, url_fetcher=_offline_fetcher(weasyprint))
    identifier = letter.content_hash[:32].encode("ascii")
    pdf: bytes = document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=identifier)
    return pdf
