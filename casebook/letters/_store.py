"""Letters kept with the case: make the PDF, store it (`CaseStore.save_letter`), and write
a copy where the practitioner wants it. The CLI and the workbook buttons both come here."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from casebook.letters._pdf import to_pdf
from casebook.letters._render import Letter
from casebook.letters._settings import LetterError
from casebook.models import LetterRecord

if TYPE_CHECKING:
    from casebook.store import CaseStore

__all__ = ["default_letter_path", "letter_record", "save_letter", "write_pdf"]

_FILE_KIND = {"referral": "referral", "after_visit_summary": "after-visit-summary"}


def letter_record(letter: Letter, pdf: bytes) -> LetterRecord:
    """The stored form of a letter and its PDF (not saved yet)."""
    return LetterRecord(
        patient_id=letter.patient_id,
        kind=letter.kind,
        recipient=letter.recipient,
        letter_date=letter.date,
        title=letter.title,
        content_hash=letter.content_hash,
        record_version=letter.record_version,
        pdf=pdf,
    )


def default_letter_path(folder: str | os.PathLike[str], letter: Letter) -> Path:
    """`folder/letters/<kind>-<date>.pdf`: for the CLI, folder is notebooks/<patient>; for
    the workbook, the case notebook's own folder."""
    return Path(folder) / "letters" / f"{_FILE_KIND[letter.kind]}-{letter.date.isoformat()}.pdf"


def write_pdf(path: str | os.PathLike[str], pdf: bytes) -> Path:
    """Write the PDF through a temporary file beside it and a rename: never half a file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pdf)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise LetterError(
            f"out: cannot write {path} ({exc.strerror or exc.__class__.__name__})"
        ) from None
    return path


def save_letter(
    store: CaseStore, letter: Letter, path: str | os.PathLike[str] | None = None
) -> tuple[LetterRecord, Path | None]:
    """Make the letter's PDF, keep it with the case (audited) and, with `path`, write a
    copy there. Returns the stored record and the path written."""
    pdf = to_pdf(letter)
    record = store.save_letter(letter_record(letter, pdf))
    return record, (write_pdf(path, pdf) if path is not None else None)
