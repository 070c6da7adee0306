"""casebook.kernels: forked kernels are fresh, isolated, complete kernels; plain ones remain."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casebook.kernels import (
    KERNEL_NAME,
    ForkServer,
    ForkServerError,
    own_kernel_dirs,
    use_forked_kernels,
)
from casebook.kernels.client import CasebookKernelManager, kernel_manager_class
from casebook.kernels.server import stop_process_fork_server

PROBE = textwrap.dedent(
    """
    import json, os, signal, subprocess, sys
    import numpy
    from IPython import get_ipython
    targets = sorted(get_ipython().kernel.comm_manager.targets)
    print(json.dumps({
        "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "cwd": os.getcwd(),
        "env": os.environ.get("CASEBOOK_PROBE"), "random": numpy.random.random(),
        "sigchld": signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL,
        "subprocess": subprocess.run([sys.executable, "-c", "print(7)"], capture_output=True,
                                     text=True).stdout.strip(),
        "preloaded": "pandas" in sys.modules and "altair" in sys.modules,
        "targets": targets,
    }))
    """
)


@pytest.fixture(scope="module")
def server() -> Iterator[ForkServer]:
    with ForkServer(preload=("numpy", "pandas", "altair", "ipywidgets")) as running:
        yield running


def _run(
    kernel_name: str,
    jupyter_path: str,
    cwd: Path,
    code: str = PROBE,
    extra_arguments: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Start a kernel, run `code`, kill the kernel; the JSON it printed, plus its pid state."""

    async def go() -> dict[str, Any]:
        km = kernel_manager_class(jupyter_path)(kernel_name=kernel_name)
        await km.start_kernel(
            cwd=str(cwd),
            env={**os.environ, "CASEBOOK_PROBE": "yes"},
            extra_arguments=list(extra_arguments),
        )
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(code, timeout=60, output_hook=lambda m: out(m))
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        result = json.loads(printed[-1])
        result["alive_after_kill"] = _alive(result["pid"])
        return result

    printed: list[str] = []

    def out(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    return asyncio.run(go())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_forked_kernel_is_a_fresh_complete_kernel(server: ForkServer, tmp_path: Path) -> None:
    first = _run(KERNEL_NAME, server.jupyter_path, tmp_path)
    second = _run(KERNEL_NAME, server.jupyter_path, tmp_path)
    assert server.process is not None
    for probe in (first, second):
        assert probe["ppid"] == server.process.pid  # forked, not spawned by us
        assert probe["pgid"] == probe["pid"]  # its own process group
        assert probe["cwd"] == str(tmp_path) and probe["env"] == "yes"
        assert probe["preloaded"] and probe["sigchld"] and probe["subprocess"] == "7"
        assert {"jupyter.widget", "jupyter.widget.control"} <= set(probe["targets"])
        assert not probe["alive_after_kill"]
    assert first["pid"] != second["pid"]
    assert first["random"] != second["random"]  # numpy reseeded in each child
    assert server.alive  # killing kernels never reaches the server


def test_a_forked_kernel_gets_the_extra_arguments_a_plain_one_would(
    server: ForkServer, tmp_path: Path
) -> None:
    # nbclient asks every kernel for an in-memory history: no kernel of a batch writes
    # its cells (the injected patient id among them) into the user's history file
    code = (
        "import json, os\nfrom IPython import get_ipython\n"
        "hm = get_ipython().history_manager\n"
        "print(json.dumps({'pid': os.getpid(), 'ppid': os.getppid(), "
        "'hist_file': str(hm.hist_file), 'saving': hm.save_thread is not None}))"
    )
    args = ("--HistoryManager.hist_file=:memory:",)
    probe = _run(KERNEL_NAME, server.jupyter_path, tmp_path, code, extra_arguments=args)
    assert server.process is not None
    assert (probe["ppid"], probe["hist_file"], probe["saving"]) == (
        server.process.pid,
        ":memory:",
        False,
    )


def test_a_notebook_run_gives_its_forked_kernel_an_in_memory_history(
    server: ForkServer, tmp_path: Path
) -> None:
    # nbclient adds the argument only for kernels its manager calls ipykernel: the
    # casebook kernelspecs must say so, or a batch's cells land in the history file
    import nbformat

    from casebook.notebooks import run_notebook

    template = tmp_path / "probe.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from IPython import get_ipython\n"
            "hm = get_ipython().history_manager\n"
            "print(hm.hist_file, hm.save_thread is None)"
        )
    ]
    nbformat.write(nb, template)
    out = run_notebook(
        template,
        tmp_path / "out.ipynb",
        {},
        kernel_name=KERNEL_NAME,
        kernel_manager_class=kernel_manager_class(server.jupyter_path),
    )
    text = nbformat.read(out, as_version=4).cells[0].outputs[0]["text"]
    assert text.split() == [":memory:", "True"]


def test_the_plain_kernel_is_the_fallback_when_the_server_is_gone(tmp_path: Path) -> None:
    server = ForkServer(preload=()).start()
    path = server.jupyter_path
    spec = Path(path) / "kernels" / KERNEL_NAME / "kernel.json"
    kept = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    kept.mkdir(parents=True)
    (kept / "kernel.json").write_text(spec.read_text())
    server.stop()
    probe = _run(KERNEL_NAME, str(tmp_path / "jupyter"), tmp_path, "import ipywidgets\n" + PROBE)
    assert probe["ppid"] == os.getpid()  # launched the plain way
    assert {"jupyter.widget", "jupyter.widget.control"} <= set(probe["targets"])
    assert not probe["alive_after_kill"]


def test_kernels_end_with_their_server(tmp_path: Path) -> None:
    server = ForkServer(preload=()).start()
    km = kernel_manager_class(server.jupyter_path)(kernel_name=KERNEL_NAME)
    asyncio.run(km.start_kernel(cwd=str(tmp_path)))
    try:
        assert km.provisioner is not None
        pid = int(km.provisioner.pid)
        assert _alive(pid)
        server.stop()
        deadline = time.monotonic() + 30
        while _alive(pid):
            assert time.monotonic() < deadline, "a kernel outlived its fork server"
            time.sleep(0.05)
    finally:
        asyncio.run(km.shutdown_kernel(now=True))  # gone already: this frees the manager


def test_a_server_that_would_fork_with_threads_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "threaded_at_import.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(ForkServerError, match="did not start"):
        ForkServer(preload=("threaded_at_import",), stderr=-3).start()


def test_use_forked_kernels_starts_once_and_reuses_a_serving_spec(
    server: ForkServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", server.jupyter_path)
    assert use_forked_kernels() == KERNEL_NAME
    assert os.environ["JUPYTER_PATH"] == server.jupyter_path  # reused, nothing started
    monkeypatch.delenv("JUPYTER_PATH")
    try:
        assert use_forked_kernels(preload=()) == KERNEL_NAME  # this process's own server
        assert "JUPYTER_PATH" not in os.environ  # the environment is never a channel
        [own] = own_kernel_dirs()
        manager = CasebookKernelManager(kernel_name=KERNEL_NAME)
        assert manager.kernel_spec_manager.kernel_dirs[0] == own
    finally:
        stop_process_fork_server()  # later tests get a fully preloaded one
    assert own_kernel_dirs() == []
