"""Notebook generation: the templates, their parameters, papermill runs, the batch."""

from __future__ import annotations

from casebook.notebooks._templates import (
    DEFAULT_TEMPLATES,
    TEMPLATES_DIR,
    TemplateNotFound,
    default_templates,
    template_path,
)

__all__ = [
    "DEFAULT_TEMPLATES",
    "TEMPLATES_DIR",
    "TemplateNotFound",
    "default_templates",
    "template_path",
]
