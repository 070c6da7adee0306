"""Notes and letters <-> FHIR: Communication and DocumentReference.

Private to `casebook.interop.fhir`: plain functions that the exporter and the importer call.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from casebook.interop import fhir_common as c
from casebook.interop._fhir_read import BadField, BundleRefs
from casebook.models import LetterRecord, Note

__all__ = ["letter_resource", "letter_row", "note_resource", "note_row"]

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


def note_row(refs: BundleRefs, res: Any) -> tuple[str, _Json]:
    refs.subject(res.subject)
    labels = {
        x.code
        for x in (res.meta.security if res.meta else None) or ()
        if x.system == c.CONFIDENTIALITY
    }
    text = "\n\n".join(p.contentString for p in res.payload or () if p.contentString)
    return "notes", {
        **refs.base(res),
        "written_on": c.as_date(res.sent),
        "text": text,
        # Anything not explicitly normal stays with the practitioner.
        "visibility": "shared" if labels and labels <= {"N", "L", "U"} else "practitioner",
        "author": res.sender.display or "" if res.sender else "",
        "visit_id": refs.visit_of(res),
    }


def letter_row(refs: BundleRefs, res: Any) -> tuple[str, _Json]:
    """A DocumentReference with its one PDF, checked against its hash when it has one."""
    refs.subject(res.subject)
    kinds = [
        x.code for x in (res.type.coding if res.type else None) or () if x.system == c.LETTER_KIND
    ]
    if len(res.content or ()) != 1 or res.content[0].attachment.data is None:
        raise BadField("content", "a casebook letter has exactly one attachment, with its data")
    attachment = res.content[0].attachment
    if str(attachment.contentType) != "application/pdf":
        raise BadField("content[0].attachment.contentType", "expected application/pdf")
    pdf = attachment.data
    pdf = pdf if isinstance(pdf, bytes) else base64.b64decode(pdf)
    if attachment.hash is not None:
        given = (
            attachment.hash
            if isinstance(attachment.hash, bytes)
            else base64.b64decode(attachment.hash)
        )
        if given != hashlib.sha1(pdf, usedforsecurity=False).digest():
            raise BadField("content[0].attachment.hash", "does not match the attached data")
    return "letters", {
        **refs.base(res),
        "kind": kinds[0] if kinds else "",
        "recipient": c.ext_value(res, "recipient", "valueString", ""),
        "letter_date": c.ext_value(res, "letter-date", "valueDate"),
        "title": res.description or "",
        "content_hash": c.ext_value(res, "content-hash", "valueString", ""),
        "record_version": c.ext_value(res, "record-version", "valueUnsignedInt", 0),
        "pdf": pdf,
        "created_by": res.author[0].display or "" if res.author else "",
        "created_at": res.date,
    }
