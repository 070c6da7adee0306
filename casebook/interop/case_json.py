"""The whole case as JSON: `casebook export PATIENT --format json` and `import case`.

Letters go in whole: their metadata, content hash and the PDF itself, base64
(`LetterRecord.pdf`). A case file is the case's backup and its way to another store; a
letter without its body could not be given to the patient again after an import, and its
hash could not be checked against anything. A letter is some 30 KB of PDF, 40 KB in base64.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from casebook.errors import CasebookError
from casebook.models import Case

__all__ = ["FORMAT", "CaseFileError", "case_from_json", "case_to_json", "format_validation_error"]

FORMAT = "casebook.case/1"


class CaseFileError(CasebookError, ValueError):
    """A case file that cannot be read; the message names the field."""


def case_to_json(case: Case) -> str:
    payload = {"format": FORMAT, "case": case.model_dump(mode="json")}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def format_validation_error(exc: ValidationError, prefix: str) -> str:
    lines = []
    for err in exc.errors():
        loc = prefix
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else f".{part}"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def case_from_json(text: str, source: str = "<input>") -> Case:
    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseFileError(
            f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise CaseFileError(f"{source}: nested too deeply to be a case file") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CaseFileError(
            f"{source}: format: expected {FORMAT!r}, found {found!r} "
            "(was it written by `casebook export --format json`?)"
        )
    try:
        return Case.model_validate(payload.get("case"))
    except RecursionError:  # pragma: no cover - json.loads refuses such depth first
        raise CaseFileError(f"{source}: nested too deeply to be a case file") from None
    except ValidationError as exc:
        raise CaseFileError(
            f"{source}: {exc.error_count()} invalid field(s), nothing was imported:\n"
            + format_validation_error(exc, "case")
        ) from None
