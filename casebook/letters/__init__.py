"""Letters from the record: referral letters and after-visit summaries, as HTML and PDF.

    from casebook.letters import load_clinic_settings, referral_letter, to_pdf
    settings = load_clinic_settings(database_url=url)     # clinic.toml next to the database
    letter = referral_letter(case, catalog, settings, to="Dr B. Example, Gastroenterology")
    pdf = to_pdf(letter)                                  # tagged PDF/UA-1 bytes
    record, path = save_letter(store, letter, "out.pdf")  # kept with the case, audited

A `Letter` carries its kind, recipient, date, the record version it was made from and a
SHA-256 content hash of its HTML; the same record version gives the same HTML, hash and
PDF bytes.

HTML comes from Jinja templates (``templates/*.html.j2``) with autoescape on, so every
string from a person prints as text. One print stylesheet, ``templates/letters.css``
(A4, page numbers and the patient's name in the footer), is inlined in the HTML and is
what the PDF is laid out with.

Why WeasyPrint for the PDF (measured on this project's machine, Debian 12, Python 3.11;
a one-page letter with a 20-row table):

- WeasyPrint 70: renders the same HTML and CSS print stylesheet as the HTML version
  (@page, margin boxes, page counters, table headers repeated across pages); tagged
  PDF/UA-1 output (``pdf_variant="pdf/ua-1"``); no browser, no network (a URL fetcher
  that serves ``data:`` only). ~3 MB of Python plus fontTools/Pillow/pydyf (pip, ~50 MB
  all told) and Debian's Pango (libpango-1.0-0, libpangoft2-1.0-0, ~1 MB, already there
  with most desktops). About 0.43 s a page, 1.7 s to import.
- Typst (``typst`` on PyPI, 0.15): one self-contained 81 MB wheel with no system
  libraries, tagged PDF by default, about 0.08 s a page: five times faster. But it lays
  out Typst markup, not HTML: the letters would need a second set of templates and a
  second stylesheet beside the HTML version, and strings from people would need Typst
  escaping instead of the HTML escaping Jinja already does.
- nbconvert's webpdf: prints through Chromium (Playwright) at run time: a browser, which
  the issue rules out, and a ~300 MB dependency for a letter.

WeasyPrint keeps one template and one stylesheet for both versions and one escaping rule;
its speed is within the aim of under a second a letter.
"""

from casebook.letters._pdf import to_pdf
from casebook.letters._referral import referral_letter
from casebook.letters._render import Letter, LetterKind
from casebook.letters._settings import (
    CLINIC_ENV_VAR,
    ClinicSettings,
    LetterError,
    clinic_settings_help,
    load_clinic_settings,
)
from casebook.letters._store import default_letter_path, letter_record, save_letter, write_pdf
from casebook.letters._summary import after_visit_summary

__all__ = [
    "CLINIC_ENV_VAR",
    "ClinicSettings",
    "Letter",
    "LetterError",
    "LetterKind",
    "after_visit_summary",
    "clinic_settings_help",
    "default_letter_path",
    "letter_record",
    "load_clinic_settings",
    "referral_letter",
    "save_letter",
    "to_pdf",
    "write_pdf",
]
