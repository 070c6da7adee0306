"""casebook.templating: the one Jinja environment of the dashboard, the clinic and the
letters. Escaping is on for every template whatever its name, an undefined name is an
error, and no other module builds an environment of its own."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import jinja2
import pytest

import casebook
from casebook.errors import InputError
from casebook.templating import environment

PACKAGE = Path(casebook.__file__).resolve().parent
SURFACES = ("casebook.dashboard", "casebook.clinic", "casebook.letters")
# template (relative to casebook/) -> the one value it prints unescaped, and why
UNESCAPED = {"letters/templates/_base.html.j2": "css: letters.css, read from the package"}


@pytest.mark.parametrize("package", SURFACES)
def test_every_template_name_and_a_string_are_escaped(package: str) -> None:
    env = environment(package)
    for name in ("page.html.j2", "page.html", "notes.txt", "style.css", "no-extension", None):
        assert env.autoescape(name) is True, name  # type: ignore[operator]
    rendered = env.from_string("<p>{{ name }}</p>").render(name="<script>x</script>")
    assert rendered == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


@pytest.mark.parametrize("package", SURFACES)
def test_the_surfaces_templates_are_found_in_their_package(package: str) -> None:
    env = environment(package)
    assert isinstance(env.loader, jinja2.PackageLoader)
    names = env.list_templates()
    assert names and all(n.endswith((".j2", ".css", ".json", ".md")) for n in names)
    folder = PACKAGE / package.split(".")[1] / "templates"
    assert all((folder / n).is_file() for n in names)


def test_an_undefined_name_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment("casebook.clinic").from_string("{{ missing }}").render()


def test_whitespace_keep_trim_and_compact() -> None:
    source = "<ul>\n  {% for x in xs %}\n  <li>{{ x }}</li>\n  {% endfor %}\n</ul>"
    kept = environment("casebook.clinic").from_string(source).render(xs=[1])
    trimmed = environment("casebook.letters", "trim").from_string(source).render(xs=[1])
    assert kept == "<ul>\n  \n  <li>1</li>\n  \n</ul>"
    assert trimmed == "<ul>\n  <li>1</li>\n</ul>"
    # compact works on a template's source (a file), not on a string given to from_string
    compact = environment("casebook.dashboard", "compact")
    page = compact.get_template("footer.html.j2").render(today=date(2025, 6, 1))
    assert "\n" not in page and "Prepared on 1 June 2025." in page


def test_an_environment_is_made_once_per_package_and_whitespace() -> None:
    assert environment("casebook.letters", "trim") is environment("casebook.letters", "trim")
    assert environment("casebook.letters") is not environment("casebook.letters", "trim")


def test_an_unknown_whitespace_is_refused() -> None:
    with pytest.raises(InputError, match="whitespace"):
        environment("casebook.clinic", "squash")  # type: ignore[arg-type]


def test_dates_print_the_same_in_every_surface() -> None:
    for package in SURFACES:
        text = environment(package).from_string("{{ on | day }}").render(on=date(2025, 6, 1))
        assert text == "1 June 2025"


def test_no_template_turns_escaping_off() -> None:
    found = set()
    for path in sorted(PACKAGE.rglob("*.j2")):
        source = path.read_text(encoding="utf-8")
        names = {
            value for _, kind, value in environment("casebook.clinic").lex(source) if kind == "name"
        }
        assert "autoescape" not in names, f"{path.name} sets autoescape"
        if "safe" in names:
            found.add(path.relative_to(PACKAGE).as_posix())
    assert found == set(UNESCAPED), f"a template prints a value unescaped: {sorted(found)}"


def test_only_templating_builds_a_jinja_environment() -> None:
    builders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "Environment"
            ):
                builders.append(path.relative_to(PACKAGE).as_posix())
    assert builders == ["templating.py"]


def test_compile_templates_fills_the_environments_cache_with_every_top_level_template() -> None:
    from casebook.dashboard import warm_templates

    environment.cache_clear()
    try:
        env = environment("casebook.dashboard", "compact")
        assert len(env.cache or {}) == 0
        count = warm_templates()
        top = [n for n in env.list_templates() if n.endswith(".j2") and "/" not in n]
        assert count == len(top) > 0
        assert len(env.cache or {}) == count  # the Voilà page template is not among them
        assert environment("casebook.dashboard", "compact") is env  # the one kept
    finally:
        environment.cache_clear()
