"""Papermill runs of the casebook templates, written atomically.

`run_notebook` checks the parameters (`_parameters`), executes in memory and writes the
result to a temporary file in the output's folder, validates it, then renames it over the
output: a killed run never leaves a truncated notebook. A failing cell raises
`NotebookFailed` naming the cell; a cell whose execute reply never came raises
`NotebookStalled`. Papermill copies the parameters and the environment into the
notebook's metadata; `_scrub_metadata` takes them out again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from casebook.errors import CasebookError, InputError
from casebook.notebooks._parameters import check_parameters, has_password

__all__ = [
    "NotebookFailed",
    "NotebookStalled",
    "hidden_parameters",
    "refuse_overwrite",
    "run_notebook",
    "write_atomic",
]


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

    if execute and kernel_name is None:
        # One run starts one kernel: the `casebook` kernel's fork server would cost more
        # than it saves, so its plain twin runs it (a batch asks for forked kernels itself).
        from casebook.kernels.spec import plain_kernel_name

        kernel_name = plain_kernel_name(template)
    papermill_kwargs.setdefault("cwd", str(output.parent))
    papermill_kwargs.setdefault("progress_bar", False)
    if execute:
        # IPC kernels, and the `casebook` kernel that the case and clinic templates name is
        # known even where `casebook init` did not install it.
        from casebook.kernels.client import CasebookKernelManager

        papermill_kwargs.setdefault("kernel_manager_class", CasebookKernelManager)
        papermill_kwargs["execution_timeout"] = timeout
        papermill_kwargs["on_cell_start"] = on_start
        papermill_kwargs["on_cell_executed"] = on_reply
        # A print's text and its newline may reach the client as one stream message or two,
        # depending on timing; merged, the same inputs always give the same notebook.
        papermill_kwargs.setdefault("coalesce_streams", True)
    try:
        with _every_task_retrieved():
            nb = _execute_notebook(
                source,
                params,
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


def _execute_notebook(
    source: Any,
    parameters: Mapping[str, object],
    *,
    prepare_only: bool,
    kernel_name: str | None,
    cwd: str | None = None,
    engine_name: str | None = None,
    language: str | None = None,
    report_mode: bool = False,
    progress_bar: bool = False,
    log_output: bool = False,
    start_timeout: float = 60,
    stdout_file: Any = None,
    stderr_file: Any = None,
    **engine_kwargs: Any,
) -> Any:
    """`papermill.execute_notebook(source, None, ...)` step by step, with papermill's own
    functions, less its last step: with no output path it still turns the whole notebook
    into JSON (validating it) to write it nowhere, and `run_notebook` writes it itself (a
    case workbook's widget state makes that ~0.1 s of CPU a notebook). Parameter names
    the template does not declare are logged by papermill's logger, as it does."""
    from papermill.engines import papermill_engines
    from papermill.execute import (
        prepare_notebook_metadata,
        raise_for_execution_errors,
        remove_error_markers,
    )
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node
    from papermill.log import logger
    from papermill.parameterize import parameterize_notebook
    from papermill.utils import chdir

    nb = load_notebook_node(source)
    if parameters:
        declared = {p.name for p in _infer_parameters(nb, name=kernel_name, language=language)}
        for name in parameters:
            if name not in declared:
                logger.warning(f"Passed unknown parameter: {name}")
        nb = parameterize_notebook(
            nb,
            dict(parameters),
            report_mode,
            kernel_name=kernel_name,
            language=language,
            engine_name=engine_name,
        )
    nb = prepare_notebook_metadata(nb, source, None, report_mode)
    nb = remove_error_markers(nb)
    if not prepare_only:
        kernel_name = papermill_engines.nb_kernel_name(
            engine_name=engine_name, nb=nb, name=kernel_name
        )
        with chdir(cwd):
            nb = papermill_engines.execute_notebook_with_engine(
                engine_name,
                nb,
                input_path=source,
                output_path=None,
                kernel_name=kernel_name,
                progress_bar=progress_bar,
                log_output=log_output,
                start_timeout=start_timeout,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **engine_kwargs,
            )
        raise_for_execution_errors(nb, None)
    return nb


@contextlib.contextmanager
def _every_task_retrieved() -> Iterator[None]:
    """Every asyncio task made on this thread's loop while the block runs has its outcome
    read when the block ends. nbclient runs on that loop (`jupyter_core.utils.run_sync`);
    Ctrl-C stops the loop between its tasks, and the ones it leaves (a cell's execution,
    the kernel-alive poll) later end in `DeadKernelError` that nobody reads: asyncio then
    prints each as "Task exception was never retrieved" with its traceback. Here tasks
    still pending when the block raises are cancelled and awaited, and every finished
    task's exception is read. Inside a running loop (papermill then uses its own thread)
    nothing changes."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        yield
        return
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop()  # the loop run_sync will use
    made: list[asyncio.Task[Any]] = []
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        if previous is not None:
            task: asyncio.Task[Any] = previous(loop, coro, **kwargs)  # type: ignore[assignment]  # typeshed: a Future
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)
    try:
        yield
    except BaseException:
        pending = [task for task in made if not task.done()]
        for task in pending:
            task.cancel()
        if pending and not loop.is_closed():
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        raise
    finally:
        loop.set_task_factory(previous)
        for task in made:
            if task.done() and not task.cancelled():
                task.exception()  # read: asyncio no longer reports it as never retrieved


def _unreplied(nb: Any, replied: set[int]) -> int | None:
    """The first non-empty code cell that got no execute reply, if any."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.strip() and i not in replied:
            return i
    return None


def _scrub_metadata(nb: Any, template: Path, output: Path) -> None:
    """Papermill's metadata, with our paths and no environment or password in it; the
    injected cell gets a stable id (papermill draws a random one) so that the same inputs
    give the same notebook, and hides its source when the template's parameters cell does
    (`hidden_parameters`)."""
    ids = {cell.get("id") for cell in nb.cells}
    hidden = hidden_parameters(nb.cells)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            if "injected-parameters" not in ids:
                cell["id"] = "injected-parameters"
            if hidden:
                cell.metadata["jupyter"] = {"source_hidden": True}
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
            if not (isinstance(value, str) and has_password(value))
        }


def hidden_parameters(cells: Any) -> bool:
    """Whether the template's parameters cell hides its source (`jupyter.source_hidden`):
    then the injected cell hides its own, so that the notebook opens on what the cells
    show (the case workbook: the patient), not on its parameters."""
    metas = [cell.get("metadata") or {} for cell in cells]
    return any(
        "parameters" in meta.get("tags", []) and bool(meta.get("jupyter", {}).get("source_hidden"))
        for meta in metas
    )


def refuse_overwrite(path: Path, *, force: bool) -> None:
    """An InputError when `path` exists and `force` is not given: a case notebook may hold
    practitioner work (its outputs, cells added by hand)."""
    if not force and path.exists():
        # The folder, not the file: a case workbook's file name carries the patient's name.
        raise InputError(
            f"{path.parent}: this notebook of the patient is already there (it may hold "
            "practitioner work); --force overwrites it"
        )
