"""A batch stopped mid-run (SIGKILL, Ctrl-C) leaves only valid notebooks; a re-run finishes it."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import nbformat
import pytest
from batch_helpers import TEMPLATES

from casebook.notebooks import BatchOptions, run_batch

SLEEPY = TEMPLATES / "sleepy.ipynb"
GATED = TEMPLATES / "gated.ipynb"


def _start(
    batch_url: str, out: Path, template: Path = SLEEPY, stderr: IO[str] | None = None
) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "casebook.cli",
        "--db",
        batch_url,
        "batch",
        "--template",
        str(template),
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_PATH"}  # its own server
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=stderr or subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env=env,
    )


def _wait_for_first_build(proc: subprocess.Popen[str], out: Path, template: Path = SLEEPY) -> None:
    deadline = time.monotonic() + 180
    while not list(out.glob(f"*/.{template.name}.inputs.json")):
        assert proc.poll() is None, "the batch ended before building anything"
        assert time.monotonic() < deadline, "no notebook was built"
        time.sleep(0.05)


def _check_valid_and_rerun(
    batch_url: str, out: Path, template: Path = SLEEPY, printed: str = "slept 1.0"
) -> None:
    for path in out.rglob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))
    done = {p.parent.name for p in out.glob(f"*/.{template.name}.inputs.json")}
    report = run_batch(BatchOptions(batch_url, out=out, templates=[template], workers=2))
    status = {o.patient_id: o.status for o in report.outcomes}
    ids = ("demo-0001", "demo-0002", "demo-0003")
    expected = {pid: ("skipped" if pid in done else "built") for pid in ids}
    assert status == expected, report.summary_text()
    assert not list(out.rglob("*.tmp"))
    for path in out.rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert printed in json.dumps(nb)


def test_a_killed_batch_leaves_valid_notebooks_and_a_rerun_builds_only_the_rest(
    batch_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "nb"
    proc = _start(batch_url, out)
    try:
        _wait_for_first_build(proc, out)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch, its workers and its fork server
        proc.communicate()
    _check_valid_and_rerun(batch_url, out)


def test_ctrl_c_reports_what_is_left_and_a_rerun_finishes(batch_url: str, tmp_path: Path) -> None:
    """GATED builds demo-0001 at once and holds the others until out/.open exists, so the
    batch is still running when Ctrl-C arrives, however fast the machine is."""
    out = tmp_path / "nb"
    said = tmp_path / "stderr.txt"
    with said.open("w", encoding="utf-8") as stderr:
        proc = _start(batch_url, out, GATED, stderr)
    try:
        _wait_for_first_build(proc, out, GATED)
        deadline = time.monotonic() + 180
        while not list(out.glob(".waiting-*")):  # a held notebook is running
            assert proc.poll() is None, "the batch ended before a held notebook started"
            assert time.monotonic() < deadline, "no held notebook started"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test already failed
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, stdout
    assert "interrupted: run the same command again" in stdout
    # The summary, and no traceback: every asyncio task nbclient left has its error read.
    errors = said.read_text(encoding="utf-8")
    assert "Traceback" not in errors and "never retrieved" not in errors, errors
    (out / ".open").touch()
    _check_valid_and_rerun(batch_url, out, GATED, "built demo-")


def test_tasks_an_interrupt_leaves_never_print_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What Ctrl-C does to nbclient's loop: the run stops with tasks left pending; the
    kernel's clean-up runs the loop again, they end in DeadKernelError that nobody awaits,
    and asyncio would print "Task exception was never retrieved" for each."""
    from jupyter_core.utils import ensure_event_loop
    from nbclient.exceptions import DeadKernelError

    from casebook.notebooks._run import _every_task_retrieved

    loop = ensure_event_loop()
    gate = loop.create_future()

    async def cell(wait: bool) -> None:
        if wait:
            await gate
        raise DeadKernelError("Kernel died")

    async def stopped() -> None:
        left = [asyncio.ensure_future(cell(wait)) for wait in (False, True, True)]
        await asyncio.sleep(0)
        assert left[0].done() and not left[1].done()  # one ended already, two are pending
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), _every_task_retrieved():
        loop.run_until_complete(stopped())
    if not gate.done():  # cancelled with the tasks that awaited it
        gate.set_result(None)
    loop.run_until_complete(asyncio.sleep(0.01))  # the kernel's clean-up
    gc.collect()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
