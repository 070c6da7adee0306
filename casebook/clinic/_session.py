"""The clinic session the notebook's cells share: the store, the frames (read once), the
filter, the tables it caches and the sections to tell when they change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pandas as pd
from markupsafe import Markup

from casebook.clinic._format import to_csv
from casebook.clinic._store import (
    ClinicFilter,
    OutcomesBy,
    load_clinic_frames,
    store_outcomes,
    store_worklist,
)
from casebook.errors import ClinicError
from casebook.interop.frames import ClinicFrames

if TYPE_CHECKING:
    from casebook.store import CaseStore

__all__ = ["EXPORTS", "ClinicSession"]

EXPORTS = {
    "worklist": "clinic-worklist.csv",
    "patients": "clinic-outcomes-patients.csv",
    "template": "clinic-outcomes-templates.csv",
    "category": "clinic-outcomes-categories.csv",
}


def _notebooks_dir(value: str) -> PurePosixPath:
    from casebook.notebooks import ParameterError, relative_folder

    try:
        return relative_folder("notebooks_dir", value)
    except ParameterError as exc:
        raise ClinicError(str(exc)) from None


class ClinicSession:
    """The clinic as the notebook sees it: the store, the frames (read once), the filter,
    and the sections to tell when the filter changes."""

    def __init__(
        self,
        store: CaseStore,
        clinic_filter: ClinicFilter,
        *,
        notebooks_dir: str = ".",
        export_dir: Path | None = None,
        today: date | None = None,
    ) -> None:
        self.store = store
        self.filter = clinic_filter
        self.notebooks_dir = _notebooks_dir(notebooks_dir)
        self.export_dir = Path.cwd() if export_dir is None else Path(export_dir)
        self.today = today or date.today()
        self.frames: ClinicFrames = load_clinic_frames(store)
        self._observers: list[Callable[[], None]] = []
        self._cache: dict[str, pd.DataFrame] = {}
        self._drawn = False  # the worklist cell has run on these frames

    def reload(self) -> None:
        """Read the store again (a flag acknowledged, results reviewed since) and redraw."""
        self.frames = load_clinic_frames(self.store)
        self._cache.clear()
        for callback in list(self._observers):
            callback()

    def __repr__(self) -> str:
        return f"ClinicSession({self.store!r})"

    def observe(self, callback: Callable[[], None]) -> None:
        self._observers.append(callback)

    def set_filter(self, clinic_filter: ClinicFilter) -> None:
        if clinic_filter != self.filter:
            self.filter = clinic_filter
            self._cache.clear()
            for callback in list(self._observers):
                callback()

    def table(self, name: str) -> pd.DataFrame:
        """'worklist', or the outcomes by 'patients', 'template' or 'category'."""
        if name not in self._cache:
            if name == "worklist":
                df = store_worklist(
                    self.store, today=self.today, clinic_filter=self.filter, frames=self.frames
                )
            else:
                by: OutcomesBy = (
                    "patient"
                    if name == "patients"
                    else "template"
                    if name == "template"
                    else "category"
                )
                df = store_outcomes(
                    self.store, by=by, clinic_filter=self.filter, frames=self.frames
                )
            self._cache[name] = df
        return self._cache[name]

    def patient_link(self, patient_id: str, name: str) -> Markup:
        """The link (HTML) that opens a patient's case workbook inside JupyterLab, or
        brings it to the front when it is open: shown through `LabHtml`, never through an
        ipywidgets HTML value (whose links reload JupyterLab)."""
        from casebook.notebooks import case_notebook_name, lab_link

        folder = "/".join((*self.notebooks_dir.parts, patient_id))
        href = f"{folder}/{case_notebook_name(patient_id, name)}"
        return lab_link(href, name or patient_id, title=f"Open the case workbook of {patient_id}")

    def export(self) -> list[Path]:
        """Every current table as CSV in `export_dir` (written whole, then renamed)."""
        from casebook.notebooks import write_atomic

        return [
            write_atomic(self.export_dir / file, to_csv(self.table(name)))
            for name, file in EXPORTS.items()
        ]
