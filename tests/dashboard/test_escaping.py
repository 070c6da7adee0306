"""Escaping by default: pages come from autoescaped Jinja templates, not from f-strings that
call `html.escape` at every insertion. The few modules that still escape by hand are listed
here with the reason, so a new one cannot appear unnoticed."""

from __future__ import annotations

import ast
from pathlib import Path

import jinja2

import casebook
from casebook.dashboard import sections
from casebook.templating import environment

PACKAGE = Path(casebook.__file__).resolve().parent
# module (relative to casebook/) -> why it may escape by hand
DOCUMENTED = {
    "workbook/widgets/_html.py": "the widgets' one escaping helper (`esc`, `text`): short "
    "ipywidgets.HTML fragments, not pages",
    "charts/render.py": "one aria-label around an SVG that vl-convert has escaped",
    "serve/handlers.py": "the dashboard server's short error pages (to move to its templates)",
}


def _escape_calls(path: Path) -> list[int]:
    """Lines that call html.escape (as `html.escape(...)` or an imported `escape`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in ("html", "markupsafe")
        for alias in node.names
        if alias.name == "escape"
    }
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        qualified = (
            isinstance(func, ast.Attribute)
            and func.attr == "escape"
            and isinstance(func.value, ast.Name)
            and func.value.id in ("html", "markupsafe")
        )
        if qualified or (isinstance(func, ast.Name) and func.id in imported):
            lines.append(node.lineno)
    return lines


def test_only_documented_modules_escape_by_hand() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        calls = _escape_calls(path)
        if calls:
            found[path.relative_to(PACKAGE).as_posix()] = calls
    undocumented = {k: v for k, v in found.items() if k not in DOCUMENTED}
    assert not undocumented, f"escape by hand outside the documented places: {undocumented}"
    assert "dashboard/sections.py" not in found


def test_the_check_finds_a_hand_escape(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import html\nfrom markupsafe import escape as e\nx = html.escape('a')\ny = e('b')\n",
        encoding="utf-8",
    )
    assert _escape_calls(sample) == [3, 4]


def test_dashboard_templates_autoescape_and_ship_as_package_data() -> None:
    env = environment("casebook.dashboard", "compact")
    assert callable(env.autoescape) and env.autoescape("header.html.j2") is True
    assert isinstance(env.loader, jinja2.PackageLoader)
    names = env.list_templates()
    for section in (
        "header",
        "attention",
        "plan",
        "symptoms",
        "questionnaires",
        "results",
        "upcoming",
        "notes",
        "footer",
        "chart",
    ):
        assert f"{section}.html.j2" in names
    html = sections._section("header", name="<b>Eve</b>", last_visit=None).html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html and "<b>Eve" not in html
