"""Finding the templates: `case.ipynb`, `dashboard.ipynb` and `clinic.ipynb`.

One copy lives in git, at the repository's top-level `templates/`. The package reaches it
through `casebook/notebooks/templates`, a symlink in the checkout that the wheel build
turns into real files (package data), so `importlib.resources` finds the same folder in an
editable checkout and in an installed wheel.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from casebook.errors import CasebookError

__all__ = [
    "CLINIC_TEMPLATE",
    "DEFAULT_TEMPLATES",
    "TEMPLATES_DIR",
    "TemplateNotFound",
    "default_templates",
    "template_path",
]

DEFAULT_TEMPLATES = ("case.ipynb", "dashboard.ipynb")
"""The per-patient notebooks a batch builds by default."""

CLINIC_TEMPLATE = "clinic.ipynb"
"""The one notebook across patients a default batch builds beside them."""


class TemplateNotFound(CasebookError, FileNotFoundError):
    """A template (or the templates folder) that is not where casebook looked."""


def _templates_dir() -> Path:
    packaged = files(__package__) / "templates"
    with as_file(packaged) as folder:  # a real folder: installed wheel or checkout symlink
        if Path(folder).is_dir():
            return Path(folder).resolve()
    # A checkout whose symlink was not made (core.symlinks=false): the top-level folder.
    return Path(__file__).resolve().parents[2] / "templates"


TEMPLATES_DIR: Path = _templates_dir()
"""The templates that ship with casebook (`case.ipynb`, `dashboard.ipynb`)."""


def template_path(name: str, templates_dir: Path | None = None) -> Path:
    """The template `name` (e.g. 'case.ipynb'), with a clear error when it is missing."""
    folder = TEMPLATES_DIR if templates_dir is None else Path(templates_dir)
    if not folder.is_dir():
        raise TemplateNotFound(
            f"no templates folder at {folder}: reinstall casebook (the wheel carries "
            "its templates as package data)"
        )
    path = folder / name
    if not path.is_file():
        present = ", ".join(sorted(p.name for p in folder.glob("*.ipynb"))) or "none"
        raise TemplateNotFound(f"no template {name!r} in {folder} (present: {present})")
    return path


def default_templates(folder: Path | None = None) -> list[Path]:
    """`case.ipynb` and `dashboard.ipynb` from `folder` (default: the shipped templates),
    whichever exist (one at least)."""
    folder = TEMPLATES_DIR if folder is None else Path(folder)
    found = [folder / name for name in DEFAULT_TEMPLATES if (folder / name).is_file()]
    if not found:
        raise TemplateNotFound(
            f"no templates to build: neither {' nor '.join(DEFAULT_TEMPLATES)} is in {folder}"
        )
    return found
