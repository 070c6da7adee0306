"""The demo: seeded synthetic patients (`synthetic`) and the store and notebooks that
`casebook demo` builds from them (`build`).

Names are imported on first use, so that `import casebook.demo.synthetic` does not pull in
the store, SQLAlchemy or the notebooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from casebook._lazy import lazy_exports

if TYPE_CHECKING:
    from casebook.demo.build import DemoResult, build_demo, build_demo_notebooks, demo_text
    from casebook.demo.synthetic import generate_case, generate_cases

__all__ = [
    "DemoResult",
    "build_demo",
    "build_demo_notebooks",
    "demo_text",
    "generate_case",
    "generate_cases",
]

_HOMES = {
    "DemoResult": "build",
    "build_demo": "build",
    "build_demo_notebooks": "build",
    "demo_text": "build",
    "generate_case": "synthetic",
    "generate_cases": "synthetic",
}

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
