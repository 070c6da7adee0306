"""The surfaces and the demo export their names on first use: importing the synthetic
generator, or finding the dashboard's page template and stylesheet, loads no store, no
SQLAlchemy, no pandas and no Jinja."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "pandas", "papermill", "jinja2", "casebook.store")


@pytest.mark.parametrize(
    ("code", "also_absent"),
    [
        ("import casebook.demo.synthetic", ("casebook.demo.build",)),
        (
            "from casebook.dashboard import STYLESHEET, VOILA_TEMPLATES",
            ("casebook.dashboard.sections", "casebook.catalog"),
        ),
    ],
)
def test_importing_stays_light(code: str, also_absent: tuple[str, ...]) -> None:
    check = (
        f"import sys\n{code}\n"
        f"print(','.join(m for m in {HEAVY + also_absent!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.strip() == "", f"{code} loaded {proc.stdout.strip()}"


def test_the_lazy_names_are_the_modules_own() -> None:
    import casebook.dashboard
    import casebook.demo
    from casebook.dashboard import sections
    from casebook.demo import build, synthetic

    assert casebook.demo.generate_cases is synthetic.generate_cases
    assert casebook.demo.build_demo is build.build_demo
    assert casebook.dashboard.plan_section is sections.plan_section
