"""Worklist rows of the kind "caution-review": plan items in force with a caution that is
not (validly) confirmed, e.g. a pregnancy recorded during a berberine course, a new
medicine, an allergy, a birthday, or an imported item (`clinical.cautions.items_for_review`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from casebook.catalog import Catalog
from casebook.clinical.cautions import items_for_review
from casebook.clinical.vocabulary import Urgency
from casebook.interop.frames import ClinicFrames

__all__ = ["caution_rows"]

_PART = ["patient_id", "kind", "urgency", "detail", "since", "ref"]


def caution_rows(frames: ClinicFrames, catalog: Catalog, today: date) -> pd.DataFrame:
    """One row per plan item to review, from the frames' cases (none without cases)."""
    rows = [
        (
            case.patient.id,
            "caution-review",
            Urgency.URGENT
            if any(m.caution.kind == "contraindication" for m in missing)
            else Urgency.SOON,
            f"{item.name}: "
            + "; ".join(f"{m.caution.kind} {m.key} ({', '.join(m.reasons)})" for m in missing)
            + " not confirmed",
            item.start,
            item.id,
        )
        for case in frames.cases
        for item, missing in items_for_review(case, catalog, today)
    ]
    df = pd.DataFrame.from_records(rows, columns=_PART)
    df["since"] = pd.to_datetime(df["since"]).astype("datetime64[ns]")
    return df
