"""Notes and letters <-> FHIR: Communication and DocumentReference.

Private to `casebook.interop.fhir`: plain functions that the exporter calls.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from casebook.interop import fhir_common as c
from casebook.models import LetterRecord, Note

__all__ = ["letter_resource", "note_resource"]

_Json = dict[str, Any]


def note_resource(n: Note, subject: _Json) -> _Json:
    """A note as a Communication, labelled R (restricted) or N (shared) in `meta.security`."""
    shared = n.visibility == "shared"
    return c.resource(
        "Communication",
        c.record_uuid(n.id),
        {
            **c.meta(n.version, "N" if shared else "R"),
            "status": "completed",
            "subject": subject,
            **c.visit_ref(n.visit_id),
            "sent": n.written_on,
            **({"recipient": [subject]} if shared else {}),
            **({"sender": {"display": n.author}} if n.author else {}),
            "payload": [{"contentString": n.text}],
        },
    )


def letter_resource(x: LetterRecord, subject: _Json) -> _Json:
    """A letter as a DocumentReference: the PDF inline, with its SHA-1 (base64, as FHIR
    defines `Attachment.hash`), so the document in the bundle is checkable on its own."""
    kind = "Referral letter" if x.kind == "referral" else "After-visit summary"
    return c.resource(
        "DocumentReference",
        c.record_uuid(x.id),
        {
            **c.meta(x.version),
            "extension": [
                c.ext("letter-date", valueDate=x.letter_date),
                c.ext("recipient", valueString=x.recipient),
                c.ext("content-hash", valueString=x.content_hash),
                c.ext("record-version", valueUnsignedInt=x.record_version),
            ],
            "status": "current",
            "docStatus": "final",
            "type": c.cc(c.LETTER_KIND, x.kind, display=kind, text=kind),
            "subject": subject,
            "date": x.created_at,
            "author": [{"display": x.created_by}] if x.created_by else None,
            "description": x.title or None,
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "data": base64.b64encode(x.pdf).decode(),
                        "size": len(x.pdf),
                        "hash": _sha1_base64(x.pdf),
                        "title": x.title or kind,
                        "creation": x.letter_date,
                    }
                }
            ],
        },
    )


def _sha1_base64(data: bytes) -> str:
    """FHIR's `Attachment.hash`: SHA-1 of the data, base64 (an integrity check, not security)."""
    return base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()
