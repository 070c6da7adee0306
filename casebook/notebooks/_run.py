"""Papermill runs of the casebook templates: parameter checks, safe paths, atomic writes.

Papermill itself pastes parameter names into code unchecked, quotes unusual values
without escaping, fills output paths with `str.format` over the parameters and copies
the parameters into the notebook's metadata. Everything here exists to close those gaps:

- `check_parameters` lets through only identifier names and str/int/float/bool values,
  and refuses a URL that carries a password;
- `public_database_url` removes the password from a database URL (the kernel reads it
  from its environment: `PGPASSWORD` or `~/.pgpass`), and makes SQLite paths absolute;
- `output_path` builds `root/<patient_id>/<name>` from validated parts and refuses any
  path that would leave `root`;
- `run_notebook` executes in memory and writes the result to a temporary file in the
  output's folder, validates it, then renames it over the output: a killed run never
  leaves a truncated notebook. A failing cell raises `NotebookFailed` naming the cell; a
  cell whose execute reply never came raises `NotebookStalled`.
"""

from __future__ import annotations

import contextlib
import keyword
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from casebook.errors import CasebookError
from casebook.models import PATIENT_ID_RE
from casebook.notebooks._templates import TEMPLATES_DIR, template_path

__all__ = [
    "NAME_RE_TEXT",
    "TEMPLATES_DIR",
    "NotebookFailed",
    "NotebookStalled",
    "ParameterError",
    "ParameterValue",
    "case_parameters",
    "check_parameters",
    "output_path",
    "public_database_url",
    "run_notebook",
    "template_path",
    "write_atomic",
]

ParameterValue = str | int | float | bool
"""The only value types passed to a template."""

NAME_RE_TEXT = "letters, digits, '.', '-' or '_', not starting with '.'"
_SECRET_QUERY_KEYS = ("password", "sslpassword")


class ParameterError(CasebookError, ValueError):
    """A parameter (or an id, a path part) that may not reach Papermill; `.name` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


class NotebookFailed(CasebookError, RuntimeError):
    """A cell raised while the notebook ran. `.cell_index` counts every cell from 0."""

    def __init__(
        self,
        template: Path,
        cell_index: int,
        ename: str,
        evalue: str,
        traceback: str = "",
    ) -> None:
        super().__init__(f"{template.name}: cell {cell_index} raised {ename}: {evalue}")
        self.template = template
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback


class NotebookStalled(NotebookFailed):
    """A cell got no execute reply in time (its outputs may be complete): never 'built'."""


# --- parameters -----------------------------------------------------------------------
def check_parameters(params: Mapping[str, object]) -> dict[str, ParameterValue]:
    """`params` as a new dict, or `ParameterError` naming the first bad name or value."""
    checked: dict[str, ParameterValue] = {}
    for name, value in params.items():
        _check_name(name)
        checked[name] = _check_value(name, value)
    if "patient_id" in checked:
        _check_patient_id(checked["patient_id"])
    return checked


def _check_name(name: object) -> None:
    shown = repr(name)[:80]
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise ParameterError(shown, "a parameter name must be an ASCII Python identifier")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ParameterError(name, "a parameter name may not be a Python keyword")
    if name.startswith("__") and name.endswith("__"):
        raise ParameterError(name, "a parameter name may not be a dunder name")


def _check_value(name: str, value: object) -> ParameterValue:
    if isinstance(value, bool | int | str):
        pass
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ParameterError(name, f"must be a finite number (got {value!r})")
    else:
        raise ParameterError(
            name, f"must be a str, int, float or bool (got {type(value).__name__})"
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise ParameterError(name, "may not contain a NUL character")
        if _has_password(value):
            raise ParameterError(
                name,
                "holds a URL with a password; pass public_database_url(url) and give the "
                "kernel the password through its environment (PGPASSWORD or ~/.pgpass)",
            )
    return value  # type: ignore[return-value]


def _has_password(value: str) -> bool:
    if "://" not in value:
        return False
    try:
        parts = urlsplit(value.strip())
        if parts.password:
            return True
    except ValueError:
        return False
    query = parts.query.lower()
    return any(f"{key}=" in query for key in _SECRET_QUERY_KEYS)


def _check_patient_id(value: object) -> str:
    if not isinstance(value, str) or not PATIENT_ID_RE.fullmatch(value):
        raise ParameterError(
            "patient_id",
            f"must be 1-64 letters, digits, '-' or '_' (got {str(value)[:80]!r})",
        )
    return value


def public_database_url(url: str) -> str:
    """`url` with any password removed (not masked); SQLite file paths made absolute."""
    from sqlalchemy.engine import make_url

    if not isinstance(url, str) or not url.strip():
        raise ParameterError("database_url", "must be a non-empty database URL")
    try:
        parsed = make_url(url.strip())
    except Exception:
        raise ParameterError("database_url", "is not a database URL") from None
    parsed = parsed._replace(password=None).difference_update_query(_SECRET_QUERY_KEYS)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            parsed = parsed.set(database=os.path.abspath(os.path.expanduser(db)))
    return parsed.render_as_string(hide_password=False)


def case_parameters(patient_id: str, database_url: str) -> dict[str, str]:
    """The parameters every casebook template takes, checked, with no password."""
    params = {"patient_id": patient_id, "database_url": public_database_url(database_url)}
    check_parameters(params)
    return params


# --- paths ----------------------------------------------------------------------------
def output_path(root: Path, patient_id: str, name: str) -> Path:
    """`root/<patient_id>/<name>`, refusing any id, name or symlink that would leave `root`."""
    _check_patient_id(patient_id)
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or not all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    ):
        raise ParameterError("name", f"a notebook file name must be {NAME_RE_TEXT} (got {name!r})")
    base = Path(root).resolve()
    path = base / patient_id / name
    if not path.resolve().is_relative_to(base):
        raise ParameterError(
            "patient_id", f"{patient_id}/{name} resolves outside {base} (a symlink?)"
        )
    return path


# --- writing --------------------------------------------------------------------------
def write_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _temp_beside(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    return path


def _umask() -> int:
    """The process umask, read without changing it (Linux); 0o022 elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)  # a no-op after the rename


# --- running --------------------------------------------------------------------------
def run_notebook(
    template: Path,
    output: Path,
    parameters: Mapping[str, object],
    *,
    execute: bool = True,
    timeout: float | None = 120,
    kernel_name: str | None = None,
    **papermill_kwargs: Any,
) -> Path:
    """Parameterize `template` (and execute it unless `execute=False`) into `output`.

    `timeout` is per cell. The kernel runs in `output`'s folder unless `cwd=` is given.
    Raises `ParameterError` before Papermill sees a bad parameter, `NotebookFailed`
    naming the cell that raised, and `NotebookStalled` when a cell's execute reply never
    came. On any failure nothing is written at `output`.
    """
    import nbformat
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    params = check_parameters(parameters)
    template, output = Path(template), Path(output)
    source = nbformat.read(template, as_version=4)  # a node: papermill never formats a path
    output.parent.mkdir(parents=True, exist_ok=True)
    started: list[int] = []
    replied: set[int] = set()

    def on_start(cell: Any, cell_index: int) -> None:
        started.append(cell_index)

    def on_reply(cell: Any, cell_index: int, execute_reply: Any) -> None:
        replied.add(cell_index)

    papermill_kwargs.setdefault("cwd", str(output.parent))
    papermill_kwargs.setdefault("progress_bar", False)
    if execute:
        papermill_kwargs["execution_timeout"] = timeout
        papermill_kwargs["on_cell_start"] = on_start
        papermill_kwargs["on_cell_executed"] = on_reply
    try:
        nb = papermill.execute_notebook(
            source,
            None,
            parameters=params,
            prepare_only=not execute,
            kernel_name=kernel_name,
            **papermill_kwargs,
        )
    except papermill.PapermillExecutionError as exc:
        raise NotebookFailed(
            template, exc.cell_index, exc.ename, exc.evalue, "\n".join(exc.traceback)
        ) from None
    except CellTimeoutError:
        index = started[-1] if started else -1
        raise NotebookStalled(
            template, index, "CellTimeoutError", f"no execute reply within {timeout} s"
        ) from None
    except DeadKernelError as exc:
        index = started[-1] if started else -1
        raise NotebookFailed(template, index, "DeadKernelError", str(exc).strip()) from None
    if execute:
        missing = _unreplied(nb, replied)
        if missing is not None:
            raise NotebookStalled(
                template, missing, "NoExecuteReply", "the cell got no execute reply"
            )
    _scrub_metadata(nb, template, output)
    nbformat.validate(nb)
    write_atomic(output, nbformat.writes(nb))
    return output


def _unreplied(nb: Any, replied: set[int]) -> int | None:
    """The first non-empty code cell that got no execute reply, if any."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.strip() and i not in replied:
            return i
    return None


def _scrub_metadata(nb: Any, template: Path, output: Path) -> None:
    """Papermill's metadata, with our paths and no environment or password in it; the
    injected cell gets a stable id (papermill draws a random one) so that the same inputs
    give the same notebook."""
    ids = {cell.get("id") for cell in nb.cells}
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            if "injected-parameters" not in ids:
                cell["id"] = "injected-parameters"
            break
    meta = nb.metadata.setdefault("papermill", {})
    meta["input_path"] = str(template)
    meta["output_path"] = str(output)
    meta["environment_variables"] = {}
    for key in ("parameters", "default_parameters"):
        values = meta.get(key) or {}
        meta[key] = {
            name: value
            for name, value in values.items()
            if not (isinstance(value, str) and _has_password(value))
        }
