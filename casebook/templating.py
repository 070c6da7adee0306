"""The one Jinja environment of casebook's pages: the dashboard's sections, the clinic's
tables and the letters are all made by `environment`.

Every template is autoescaped, whatever its name ends with, and a template string too: a
value inserted with `{{ }}` prints as text unless it is `Markup` that casebook made (a chart
figure rendered by one of these templates). Voilà marks notebook outputs trusted, so
unescaped markup from a person would run. An undefined name is an error, not an empty
string. Dates print with the `day` filter ("1 June 2025", casebook.format.day).
"""

from __future__ import annotations

import functools
import re
from typing import Literal

import jinja2
import jinja2.ext

from casebook.errors import InputError
from casebook.format import day

__all__ = ["Whitespace", "compile_templates", "environment"]

Whitespace = Literal["keep", "trim", "compact"]
"""How a template's own line breaks print: "keep" them, "trim" the line break after a
block tag and the indentation before it (Jinja's trim_blocks and lstrip_blocks), or
"compact": drop every line break and the indentation after it (the page stays one line)."""


class _Compact(jinja2.ext.Extension):
    """Drops each line break and the indentation after it from a template's source, so the
    templates read as indented HTML while the page stays one line (as tests and Voilà's
    output expect). Values inserted into a template are never touched."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"\n\s*", "", source)


@functools.cache
def environment(package: str, whitespace: Whitespace = "keep") -> jinja2.Environment:
    """The environment of `package`'s `templates` folder (e.g. "casebook.dashboard"), made
    once per package and kept."""
    if whitespace not in ("keep", "trim", "compact"):
        raise InputError(f"whitespace: {whitespace!r} is not one of keep, trim, compact")
    trim = whitespace == "trim"
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        # on for every template: no file name (.txt, .css, none at all) turns it off
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "j2"),
            disabled_extensions=(),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=trim,
        lstrip_blocks=trim,
        extensions=[_Compact] if whitespace == "compact" else [],
        # the templates are package files: never changed while casebook runs, so a page
        # needs no check of each template file's time on disk
        auto_reload=False,
    )
    env.filters["day"] = day
    return env


def compile_templates(package: str, whitespace: Whitespace = "keep") -> int:
    """Compile every `.j2` template at the top of `package`'s templates folder now (they
    stay in its environment's cache); the number compiled. The fork server does this once,
    before it forks, so its kernels never compile one."""
    env = environment(package, whitespace)
    names = [n for n in env.list_templates() if n.endswith(".j2") and "/" not in n]
    for name in names:
        env.get_template(name)
    return len(names)
