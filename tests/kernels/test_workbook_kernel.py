"""The `casebook` kernel that case notebooks name: its kernelspec, how `casebook init`
installs it, and what its provisioner does inside a Jupyter server's own kernel manager
(TCP by default, as JupyterLab's): IPC from a private folder, the first kernel started
plain while the fork server and chart service start in the background, and every later
kernel forked with the stack already imported and the shared chart engine in reach."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casebook.charts.remote import CHART_SOCKET_ENV
from casebook.cli import main
from casebook.kernels import PROVISIONER_NAME
from casebook.kernels.spec import (
    WORKBOOK_KERNEL,
    install_kernelspec,
    kernel_dir,
    plain_kernel_name,
    workbook_kernelspec,
)


def test_the_kernelspec_names_this_python_and_the_forking_provisioner() -> None:
    spec = workbook_kernelspec()
    assert spec["argv"][:3] == [sys.executable, "-m", "ipykernel_launcher"]
    assert spec["metadata"]["kernel_provisioner"] == {
        "provisioner_name": PROVISIONER_NAME,
        "config": {},
    }
    assert spec["interrupt_mode"] == "signal"


def test_install_is_idempotent_and_repairs_a_stale_spec(tmp_path: Path) -> None:
    folder = tmp_path / "kernels" / WORKBOOK_KERNEL
    assert install_kernelspec(folder) == (folder, True)
    assert install_kernelspec(folder) == (folder, False)  # nothing to do
    stale = workbook_kernelspec() | {"argv": ["/old/python", "-m", "ipykernel_launcher"]}
    (folder / "kernel.json").write_text(json.dumps(stale))
    assert install_kernelspec(folder) == (folder, True)
    assert json.loads((folder / "kernel.json").read_text()) == workbook_kernelspec()
    assert [p.name for p in folder.iterdir()] == ["kernel.json"]  # no temporary left


def test_init_installs_it_where_jupyter_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")  # a venv's own folder, as jupyter does
    from jupyter_core.paths import ENV_JUPYTER_PATH

    assert kernel_dir() == Path(ENV_JUPYTER_PATH[0]) / "kernels" / WORKBOOK_KERNEL
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")  # the user's folder: here, tmp_path's
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    assert main(["--db", url, "init", "--no-kernel"]) == 0
    assert not kernel_dir().exists()
    assert main(["--db", url, "init"]) == 0
    spec = tmp_path / "data" / "kernels" / WORKBOOK_KERNEL / "kernel.json"
    assert json.loads(spec.read_text()) == workbook_kernelspec()
    assert (
        f"Jupyter kernel 'casebook' (fast start for case notebooks) at {spec.parent}"
        in capsys.readouterr().err
    )

    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec(WORKBOOK_KERNEL).resource_dir == str(spec.parent)


def test_a_folder_that_cannot_be_written_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(blocker))
    assert main(["--db", f"sqlite:///{tmp_path / 'casebook.db'}", "init"]) == 0
    err = capsys.readouterr().err
    assert "could not install the 'casebook' Jupyter kernel" in err
    assert "Traceback" not in err


def test_the_plain_twin(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_notebook

    def notebook(name: str) -> Path:
        path = tmp_path / f"{name}.ipynb"
        spec = {"name": name, "display_name": name}
        nbformat.write(new_notebook(metadata={"kernelspec": spec}), path)
        return path

    assert plain_kernel_name(notebook(WORKBOOK_KERNEL)) == "python3"
    assert plain_kernel_name(notebook("ir")) == "ir"
    assert plain_kernel_name(tmp_path / "missing.ipynb") == "python3"


# --- the provisioner in a Jupyter server's kernel manager ---------------------------------
@pytest.fixture
def own_helpers() -> Iterator[None]:
    """This process's fork server and chart service are stopped after the test."""
    from casebook.kernels.helper import stop_owned_helper
    from casebook.kernels.server import stop_process_fork_server

    yield
    stop_process_fork_server()
    stop_owned_helper("chart service")


def _server_manager() -> Any:
    """A kernel manager as jupyter_server makes them (TCP by default), finding the
    `casebook` spec through casebook's kernelspec manager."""
    from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

    from casebook.kernels import CasebookKernelSpecManager

    km = ServerKernelManager(
        kernel_name=WORKBOOK_KERNEL, kernel_spec_manager=CasebookKernelSpecManager()
    )
    assert km.transport == "tcp"
    return km


async def _ask(kc: Any) -> dict[str, str]:
    await kc.wait_for_ready(timeout=120)
    code = (
        f"import os, sys; charts = os.environ.get({CHART_SOCKET_ENV!r}, ''); "
        "stack = all(m in sys.modules "
        "for m in ('pandas', 'altair', 'casebook.workbook.widgets'))"
    )
    reply = await kc.execute_interactive(
        code,
        timeout=120,
        user_expressions={"charts": "charts", "stack": "stack", "pid": "os.getpid()"},
    )
    return {k: v["data"]["text/plain"] for k, v in reply["content"]["user_expressions"].items()}


async def _start_and_ask(cwd: Path, *, restart: bool = False) -> dict[str, Any]:
    km = _server_manager()
    await km.start_kernel(cwd=str(cwd))
    kc = km.client()
    kc.start_channels()
    try:
        found = await _ask(kc)
        if restart:  # as JupyterLab's Kernel > Restart: a new process, forked again
            await km.restart_kernel(now=True)
            again = await _ask(kc)
            assert again["pid"] != found["pid"] and again["stack"] == "True"
            found = again
        info = json.loads(Path(km.connection_file).read_text())
        folder = Path(km.ip).parent
        return {
            "transport": info["transport"],
            "ip": info["ip"],
            "folder": folder,
            "mode": stat.S_IMODE(folder.stat().st_mode),
            "charts": found["charts"],
            "stack": found["stack"],
            "forked": km.provisioner.forked_pid is not None,
        }
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_first_kernel_plain_later_kernels_forked_all_on_ipc(
    tmp_path: Path, own_helpers: None
) -> None:
    from casebook.kernels.chart_service import own_chart_service
    from casebook.kernels.server import own_fork_server, stop_process_fork_server

    stop_process_fork_server()  # none left by an earlier test: this one sees the first kernel
    first = asyncio.run(_start_and_ask(tmp_path))
    assert first["transport"] == "ipc" and first["mode"] == 0o700
    assert not first["forked"]  # the helpers were still starting: it never waited for them
    assert not first["folder"].exists()  # removed with the kernel
    deadline = time.monotonic() + 120
    while own_fork_server() is None or own_chart_service() is None:
        assert time.monotonic() < deadline, "the fork server and chart service never started"
        time.sleep(0.2)
    later = asyncio.run(_start_and_ask(tmp_path, restart=True))
    assert later["forked"] and later["transport"] == "ipc"
    assert later["stack"] == "True"  # imported before the fork
    service = own_chart_service()
    assert service is not None and later["charts"] == repr(service.socket_path)
